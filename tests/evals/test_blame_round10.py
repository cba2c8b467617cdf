"""Round 10's tooling: the rules' evidence of a person or a system around a failure, a person named in the row
before, and how a candidate lowers the reader's threshold."""

import numpy as np

from agent_postmortem.evals import blame_round10 as round10


def test_a_person_heading_the_failure_clause_or_a_persons_possessive_is_evidence() -> None:
    assert round10.person_failure("The intern broke production with a bad query.")
    assert round10.person_failure("Lee's change broke checkout.")
    assert not round10.person_failure("The scheduler forgot to release the lock and prod went down.")
    assert not round10.person_failure("The intern restarted the service after lunch.")  # no failure in the clause


def test_a_system_noun_as_the_subject_is_read_after_a_short_opener() -> None:
    assert round10.system_subject("The scheduler forgot to release the lock.")
    assert round10.system_subject("At 10:05 UTC, the deploy pipeline pushed the wrong build.")
    assert not round10.system_subject("The intern pushed the wrong build.")
    assert not round10.system_subject("The owner of the pipeline pushed the wrong build.")


def test_a_pronoun_refers_back_only_to_a_person_named_in_the_row_before() -> None:
    assert round10.refers_back("They pushed it to prod anyway.", "Dana ran the migration.")
    assert not round10.refers_back("They pushed it to prod anyway.", "He ran the migration.")
    assert not round10.refers_back("They pushed it to prod anyway.", None)
    assert not round10.refers_back("The job pushed it to prod.", "Dana ran the migration.")


def test_a_candidate_lowers_the_threshold_only_where_its_evidence_is_and_no_rule_fired() -> None:
    p = np.array([0.9, 0.9, 0.9, 0.99])
    zeros = np.zeros(4, dtype=bool)
    f = {
        "rules": zeros,
        "role": zeros,
        "failure": np.array([True, True, False, False]),
        "person_failure": np.array([True, False, True, False]),
        "system": zeros,
        "back": zeros,
        "talk": zeros,
    }
    assert round10.flagged(p, f, "A4", 0.85).tolist() == [True, False, False, True]
    f["talk"] = np.array([False, False, False, True])  # talk about blame: never the reader's alone under G
    assert round10.flagged(p, f, "G", 0.85).tolist() == [True, True, False, False]
