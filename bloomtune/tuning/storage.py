"""An Optuna tuner's `storage`: checked before any job runs, opening nothing.

A URL must parse as a SQLAlchemy database URL whose dialect and driver are installed; an in-memory
database is refused (a search kept there can never resume); a SQLite file's folder must exist or be
creatable. Without `storage`, the search journals to a file in its state folder."""

from __future__ import annotations

import os
from pathlib import Path

from bloomtune.errors import ParamsError

EXAMPLE = "e.g. sqlite:///results/optuna.db or postgresql+psycopg2://user@host/db"


def _creatable(folder: Path) -> bool:
    """The folder exists, or its nearest existing ancestor lets us create it."""
    folder = folder.resolve()
    while not folder.exists():
        folder = folder.parent
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


def check_storage(tuner: str, url: str, password_env: str | None = None) -> None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    key = f"tuners.{tuner}.storage"
    try:
        parsed = make_url(url)
        if parsed.password is not None:
            # Params are recorded whole: in best.json, .snakemake/metadata and dvc.lock.
            raise ParamsError(
                f"{key}: the URL holds a password, which would be stored with the params in "
                f"results, .snakemake/metadata and dvc.lock; remove it and name the environment "
                f"variable that holds it in tuners.{tuner}.storage_password_env (PostgreSQL "
                "also reads PGPASSWORD and ~/.pgpass)"
            )
        if password_env and password_env not in os.environ:
            raise ParamsError(
                f"tuners.{tuner}.storage_password_env: the environment variable {password_env} "
                "is not set"
            )
        dialect = parsed.get_dialect()
    except NoSuchModuleError:  # a kind of ArgumentError: first
        raise ParamsError(
            f"{key}: no installed SQLAlchemy dialect for {parsed.drivername!r} ({EXAMPLE})"
        ) from None
    except ArgumentError:
        raise ParamsError(f"{key}: {url!r} is not a database URL ({EXAMPLE})") from None
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        raise ParamsError(
            f"{key}: the {parsed.drivername} driver is not installed ({exc.name or exc}); "
            "install it or use sqlite:///"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or database.startswith("file::memory:"):
            raise ParamsError(
                f"{key}: {url!r} is an in-memory database, lost when the job ends, so the search "
                "could never resume; give a file, e.g. sqlite:///results/optuna.db"
            )
        if not _creatable(Path(database).parent):
            raise ParamsError(
                f"{key}: cannot create the folder of {database!r} (no write permission)"
            )
