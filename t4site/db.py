"""Hot-path database helpers.

``insert_row`` saves one new instance the way ``Model.objects.create`` would, minus the
ORM's per-call SQL compilation. It exists for the two inserts on the request path of every
call — the request log and the LLM ledger — where compiling the INSERT cost about three
times executing it (measured on SQLite: 0.11 ms against 0.035 ms). Values go through each
field's own ``pre_save`` and ``get_db_prep_save``, so defaults, Decimals, aware datetimes,
IP addresses and foreign keys are stored exactly as the ORM stores them. What it leaves
out is deliberate: model signals (neither model is audited by django-auditlog and nothing
listens to their saves) and multi-table inheritance.
"""

from __future__ import annotations

import functools
from typing import TypeVar

from django.db import connections, models

__all__ = ["insert_row"]

M = TypeVar("M", bound=models.Model)


@functools.cache
def _insert_plan(model: type[models.Model], alias: str) -> tuple[str, tuple[models.Field, ...]]:
    """The INSERT statement of every concrete column but an auto primary key, and its fields.

    The new primary key comes back through RETURNING where the backend supports it
    (PostgreSQL, SQLite >= 3.35), else from ``cursor.lastrowid``.
    """
    connection = connections[alias]
    meta = model._meta
    fields = tuple(
        field
        for field in meta.concrete_fields
        if not (field.primary_key and isinstance(field, models.AutoField))
        and not getattr(field, "generated", False)
    )
    quote = connection.ops.quote_name
    # Only identifiers from the model's metadata are interpolated; values are parameters.
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608
    if connection.features.can_return_columns_from_insert:
        sql += f" RETURNING {quote(meta.pk.column)}"
    return sql, fields


def insert_row(instance: M, *, using: str = "default") -> M:
    """INSERT ``instance`` (new, unsaved) and return it with its primary key set."""
    connection = connections[using]
    sql, fields = _insert_plan(type(instance), using)
    params = [
        field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if connection.features.can_return_columns_from_insert:
            pk = cursor.fetchone()[0]
        else:
            pk = cursor.lastrowid
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = using
    return instance
