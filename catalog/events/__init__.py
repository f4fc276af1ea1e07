"""Change events: every change to a namespace, table or view, as a CloudEvent in an outbox.

The service emits a `ChangeEvent` into the unit of work that makes the change, so the event
row commits or rolls back with it (`catalog.store.repository`); the dispatcher delivers the
rows to sinks afterwards (`catalog.events.dispatcher`). See docs/events.md.
"""
