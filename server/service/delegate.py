"""`delegate`: a facade method that is a use case's own method, so its signature is written once (in the use case).

    class PostmortemService:
        search_incidents = delegate("retrieval", Retrieval.search_incidents)

`service.search_incidents(...)` calls `service.retrieval.search_incidents(...)`; type checkers see the use case's
parameters and return type (a ParamSpec), and a part missing from the facade fails when the class is built."""

from collections.abc import Callable
from typing import Any, Concatenate, Generic, ParamSpec, Self, TypeVar, overload

P = ParamSpec("P")
R = TypeVar("R")


class delegate(Generic[P, R]):  # lower case: it is written like `property` in a class body
    def __init__(self, part: str, method: Callable[Concatenate[Any, P], R]) -> None:
        self.part = part
        self.method = method
        self.__doc__ = method.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        if name != self.method.__name__:
            raise TypeError(f"{owner.__name__}.{name} delegates to a method of another name: {self.method.__name__}")

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Self: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> Callable[P, R]: ...
    def __get__(self, obj: object | None, owner: type | None = None) -> "Self | Callable[P, R]":
        if obj is None:
            return self
        bound: Callable[P, R] = getattr(getattr(obj, self.part), self.method.__name__)
        return bound
