"""The schema revision this version of the product writes and reads: the newest migration (migrations/versions),
told from the file names so that neither a read nor its check loads Alembic or SQLAlchemy."""

from pathlib import Path

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def head_revision() -> str:
    """The newest migration's revision, read from the file names (`0005_text_names_on_postgres.py` is revision
    "0005")."""
    return max(p.name.split("_", 1)[0] for p in (MIGRATIONS_DIR / "versions").glob("[0-9]*_*.py"))
