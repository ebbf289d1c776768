"""Model instances from fixed SQL statements, for the few hot reads where compiling a queryset
on every request costs more than the query (py-spy under the load benchmark: Django's SQL
compiler was the largest single share of the web's CPU).

A raw cursor hands over database values as they are, so only fields whose database value is the
Python value (no ``from_db_value`` to apply) may be read this way; the rows become instances as
the ORM's own would (``Model.from_db``).
"""

from __future__ import annotations

from django.db import connections
from django.db.models import signals
from django.db.models.base import ModelState


def plain_columns(model, fields: tuple[str, ...] | None = None,
                  alias: str | None = None) -> tuple[str, tuple[str, ...]]:
    """(the select list, the attribute names in it) for `fields` of `model` (all concrete fields
    when None), in the model's field order, as ``from_db`` reads a partial row; TypeError for a
    field that needs converting."""
    quote = connections["default"].ops.quote_name
    columns = [field for field in model._meta.concrete_fields if fields is None or field.attname in fields]
    converted = [field.name for field in columns if hasattr(field, "from_db_value")]
    if converted:
        raise TypeError(f"{model.__name__}: {converted} need converting; read them through the ORM")
    prefix = f"{quote(alias)}." if alias else ""
    return ", ".join(prefix + quote(field.column) for field in columns), tuple(field.attname for field in columns)


def instances(model, using: str, names: tuple[str, ...], rows) -> list:
    """``[model.from_db(using, names, row) for row in rows]`` without running ``Model.__init__`` for
    each: a page's hundreds of related rows cost a tenth (2.4 ms -> 0.24 ms for 300 analyses). The
    same instances: fields left out are deferred (read on first access), the state says "from the
    database". A model with init signals (an ImageField's dimensions, say) goes through from_db."""
    if signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model):
        return [model.from_db(using, names, row) for row in rows]
    built = []
    new = model.__new__
    for row in rows:
        instance = new(model)
        instance.__dict__.update(zip(names, row, strict=True))
        state = ModelState()
        state.adding, state.db = False, using
        instance._state = state
        built.append(instance)
    return built


def result_sets(cursor, statements: list[str], params: list) -> list[list[tuple]]:
    """The rows of each statement that returns rows, the statements sent in one round trip.

    Django's psycopg cursor binds parameters client-side and sends the text as one simple query:
    its statements run as one implicit transaction (a ``SET LOCAL`` among them lasts exactly for
    the rest; inside an outer atomic block, until that ends), and each result is a set of its own.
    """
    cursor.execute("; ".join(statements), params)
    found = []
    while True:
        if cursor.description is not None:  # a SET or other command returns no rows
            found.append(cursor.fetchall())
        if not cursor.nextset():
            return found
