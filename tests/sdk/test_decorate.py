"""What `@recorder.watch` makes of what it decorates (server/sdk/decorate.py): a function stays a function, a static
or class method or a property stays one, and a class stays a class whose public methods are watched."""

import asyncio
from pathlib import Path

import pytest

from agent_postmortem.sdk.recorder import Recorder
from tests.factories import make_service


def test_a_watched_class_stays_a_class_whose_public_methods_are_watched(tmp_path: Path) -> None:
    """`@recorder.watch` above a class made it a function: `isinstance(planner, Planner)` raised a TypeError, a
    subclass could not be declared, and only a failing constructor was recorded, never a failing method."""
    service = make_service(tmp_path)
    recorder = Recorder(agent="trip-planner", service=lambda: service)

    class Agent:
        def name(self) -> str:
            return "agent"

    @recorder.watch
    class Planner(Agent):
        """Plans trips."""

        def __init__(self, city: str) -> None:
            self.city = city

        def book(self, day: str) -> str:
            raise ConnectionError(f"no room in {self.city} on {day}")

        async def search(self) -> list[str]:
            raise TimeoutError("fares API")

        @staticmethod
        def quote(route: str) -> str:
            return f"fare for {route}"

        def _cache(self) -> None:
            raise KeyError("not watched: a private helper")

    class Weekend(Planner):
        pass

    planner = Weekend("LIS")
    assert isinstance(Planner, type) and issubclass(Weekend, Planner) and issubclass(Planner, Agent)
    assert isinstance(planner, Planner) and planner.city == "LIS" and planner.name() == "agent"
    assert Planner.__name__ == "Planner" and Planner.__doc__ == "Plans trips."
    assert planner.quote("CPH-LIS") == Planner.quote("CPH-LIS") == "fare for CPH-LIS"
    with pytest.raises(ConnectionError):
        planner.book("friday")
    with pytest.raises(TimeoutError):
        asyncio.run(planner.search())
    with pytest.raises(KeyError):
        planner._cache()
    assert recorder.flush(timeout=60)
    titles = [service.get_incident(i).title for i in recorder.captured_ids]
    assert titles == ["ConnectionError in Planner.book", "TimeoutError in Planner.search"]


def test_a_watched_class_gives_its_methods_the_watchs_context(tmp_path: Path) -> None:
    service = make_service(tmp_path)
    recorder = Recorder(agent="trip-planner", service=lambda: service)

    @recorder.watch("hotels")
    class Hotels:
        def book(self) -> None:
            raise ConnectionError("no room")

    with pytest.raises(ConnectionError):
        Hotels().book()
    assert recorder.flush(timeout=60)
    assert [service.get_incident(i).title for i in recorder.captured_ids] == ["ConnectionError in hotels"]


def test_a_watch_above_staticmethod_classmethod_or_property_keeps_the_method_working(tmp_path: Path) -> None:
    """`@recorder.watch` written above `@staticmethod` made every call through an instance a TypeError (the instance
    passed as the first argument), above `@classmethod` a "'classmethod' object is not callable", and above
    `@property` an attribute that returned a function: the agent broke, and a TypeError was recorded instead."""
    service = make_service(tmp_path)
    recorder = Recorder(agent="trip-planner", service=lambda: service)

    class Planner:
        @recorder.watch(tool="fares.quote")
        @staticmethod
        def quote(route: str) -> str:
            if route == "CPH-LIS":
                raise LookupError(f"no fare for {route}")
            return f"fare for {route}"

        @recorder.watch(tool="planner.load")
        @classmethod
        def load(cls, name: str) -> "Planner":
            raise FileNotFoundError(f"no saved plan {name}")

        @recorder.watch(tool="planner.budget")
        @property
        def budget(self) -> int:
            raise ValueError("budget not set")

    assert Planner().quote("CPH-OSL") == "fare for CPH-OSL" and Planner.quote("CPH-OSL") == "fare for CPH-OSL"
    with pytest.raises(LookupError):
        Planner().quote("CPH-LIS")
    with pytest.raises(FileNotFoundError):
        Planner.load("summer")
    with pytest.raises(ValueError):
        _ = Planner().budget
    assert recorder.flush(timeout=60)
    titles = [service.get_incident(i).title for i in recorder.captured_ids]
    assert titles == ["LookupError in fares.quote", "FileNotFoundError in planner.load", "ValueError in planner.budget"]
