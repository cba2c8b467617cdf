"""What `@recorder.watch` makes of what it decorates: a function is watched (`watch.watched`); a static or class method
or a property keeps its kind with the function inside watched; a class stays a class, its public methods watched.

A class was wrapped as if it were a function: its name then stood for a function that built instances, so
`isinstance(x, Planner)` raised a TypeError, no subclass could be declared, and only a failing constructor was
recorded, never a failing method.
"""

import inspect
from typing import Any, TypeVar

from agent_postmortem.sdk.watch import Queues, watched

T = TypeVar("T")


def watch_callable(recorder: Queues, func: T, context: dict[str, Any]) -> T:
    """`func` watched: a class (`_watched_class`), a static or class method or a property (`_descriptor`), or a
    function (`watched`)."""
    if isinstance(func, type):
        return _watched_class(recorder, func, context)  # type: ignore[return-value]
    if isinstance(func, staticmethod | classmethod | property):
        return _descriptor(recorder, func, context)  # type: ignore[return-value]
    return watched(recorder, func, context)  # type: ignore[type-var]


def _watched_class(recorder: Queues, cls: type, context: dict[str, Any]) -> type:
    """The class itself, each public method it defines watched (sync or async, static, class, property); methods
    whose name starts with `_` (its constructor and helpers included) and what it inherits are left as they are. A
    public method that calls another is one capture, as for nested watches."""
    for name, member in list(vars(cls).items()):
        if name.startswith("_"):
            continue
        if inspect.isfunction(member) or isinstance(member, staticmethod | classmethod | property):
            setattr(cls, name, watch_callable(recorder, member, context))
    return cls


def _descriptor(
    recorder: Queues, wrapped: "staticmethod[..., Any] | classmethod[Any, ..., Any] | property", context: dict[str, Any]
) -> object:
    """`@recorder.watch` above `@staticmethod`, `@classmethod` or `@property`: the function inside is watched and the
    descriptor kept. The static method was called with the instance as its first argument, the class method not at
    all ("'classmethod' object is not callable"), and the property returned a function."""
    if isinstance(wrapped, property):
        get, put, delete = (f and watched(recorder, f, context) for f in (wrapped.fget, wrapped.fset, wrapped.fdel))
        return property(get, put, delete, wrapped.__doc__)  # type: ignore[arg-type]
    return type(wrapped)(watched(recorder, wrapped.__func__, context))
