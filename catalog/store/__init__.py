"""The transactional store: SQLAlchemy models, the compare-and-swap repository, migrations."""
