"""`delegate`: the facade's methods are its use cases' own, so each signature is written once."""

import inspect
from pathlib import Path

import pytest

from agent_postmortem.service.delegate import delegate
from agent_postmortem.service.facade import PostmortemService
from tests.factories import make_service


def delegates() -> dict[str, delegate[..., object]]:
    return {name: value for name, value in vars(PostmortemService).items() if isinstance(value, delegate)}


def test_every_facade_delegate_is_its_use_case_s_method_with_its_signature(tmp_path: Path) -> None:
    service = make_service(tmp_path / "home")
    assert len(delegates()) >= 25
    for name, value in delegates().items():
        bound = getattr(service, name)
        assert bound.__self__ is getattr(service, value.part), name
        assert bound.__func__ is value.method, name
        assert inspect.signature(bound) == inspect.signature(getattr(getattr(service, value.part), name))
        assert PostmortemService.__dict__[name].__doc__ == value.method.__doc__


def test_a_delegate_under_another_name_is_refused_when_the_class_is_built() -> None:
    class Part:
        def run(self) -> int:
            return 1

    with pytest.raises((TypeError, RuntimeError), match="another name|__set_name__"):

        class Facade:
            start = delegate("part", Part.run)


def test_a_delegate_calls_the_part_the_instance_holds() -> None:
    class Part:
        def __init__(self, answer: int) -> None:
            self.answer = answer

        def run(self, plus: int = 0) -> int:
            return self.answer + plus

    class Facade:
        run = delegate("part", Part.run)

        def __init__(self, answer: int) -> None:
            self.part = Part(answer)

    assert Facade(41).run(plus=1) == 42 and Facade(1).run() == 1
