"""IMS OneRoster 1.2 provider (rostering and gradebook) over Bangkom's own data.

``mapping`` turns rows into the binding's objects, ``query`` reads the binding's
collection parameters (filter grammar, sort, fields, paging), ``errors`` answers the
binding's ``imsx_StatusInfo`` payload on these routes only, ``rostering`` and
``gradebook`` hold the resources.
"""
