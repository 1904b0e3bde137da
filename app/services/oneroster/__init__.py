"""IMS OneRoster 1.2 provider (rostering and gradebook) over Bangkom's own data.

``views`` runs the binding's collection query over any view (a subquery of labelled
columns, each part on its own index), ``query`` reads the binding's collection parameters
(filter grammar, sort, fields, paging), ``errors`` answers the binding's
``imsx_StatusInfo`` payload on these routes only; the resources: ``rostering`` (orgs,
courses, classes, terms, demographics), ``people`` (users: learners and teachers),
``enrollments`` (students' and teachers'), ``gradebook`` (categories, lineItems, results
and the result PUT); ``schemas`` are the binding's payloads for the OpenAPI document;
``teaching`` keeps ``cohort_teacher`` and ``tombstones`` writes ``oneroster_tombstone``
(what leaves a collection without a row of its own, shown ``tobedeleted``).
"""
