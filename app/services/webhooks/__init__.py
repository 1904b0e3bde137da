"""Webhooks: subscriptions (the /v1/webhooks API), fan-out of the change log into
deliveries, and their delivery by `bangkom worker`."""
