"""Storage errors the workflows may catch without knowing SQLAlchemy."""


class Conflict(Exception):
    """Someone else changed the row since it was read (optimistic concurrency)."""
