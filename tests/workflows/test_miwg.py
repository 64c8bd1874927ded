"""The OMG MIWG reference models: each is refused with named problems or runs; nothing raises.

These are foreign models (JUEL conditions, unquoted timers, data stores, mostly
isExecutable="false"), so every one is refused today.  The table records the observed outcome
per file: a change in it is a regression (or an improvement to write down).
"""
from pathlib import Path

import pytest

from workflows import EngineError, Instance, load_bundle, validate_bundle

REPO = Path(__file__).resolve().parents[2]
MIWG = REPO.parent / "shared" / "corpus" / "miwg"

# file -> (number of problems, element ids named); (0, "started") would mean it deployed and ran
EXPECTED = {
    "A.1.0.bpmn": (1, []),
    "A.2.0.bpmn": (1, []),
    "A.2.1.bpmn": (1, []),
    "A.3.0.bpmn": (1, []),
    "A.4.0.bpmn": (1, []),
    "A.4.1.bpmn": (1, []),
    "B.1.0.bpmn": (4, ['_e314751e-5c3a-41f2-a1ae-4cb99efa0916', '_fa3a8e53-5be0-4f0b-8680-d2498e255209']),
    "B.2.0.bpmn": (9, ['_034907bf-d3d7-4629-818c-14c3e69d5bc6', '_4e71bf73-1719-401e-a9a2-85dc89fc1150', '_4f5e6e50-d9d0-4f97-959a-d1b8e1e32788', '_5a6baa94-303a-4750-bde2-e1cd6edace37', '_79341f54-50d4-4c60-85f3-fe8839a7554b', '_a74c1d4d-db90-43ff-8920-139a300b39a5', '_f27040d5-765c-493c-bbe7-9fb6ad04cbdc']),
    "C.1.0.bpmn": (5, ['archiveInvoice', 'invoiceApproved', 'invoiceNotApproved', 'reviewNotSuccessful', 'reviewSuccessful']),
    "C.1.1.bpmn": (6, ['invoiceApproved', 'invoiceNotApproved', 'reviewNotSuccessful', 'reviewSuccessful']),
    "C.2.0.bpmn": (1, []),
    "C.3.0.bpmn": (3, ['Bpmn_BoundaryEvent_sS9gABqGEeWDuOtG0oS24A', '_be893987-caec-4605-b078-bd96b7cd6c12', '_cd6f230f-13c3-4027-aa3e-57de601a1ab2']),
    "C.4.0.bpmn": (2, []),
    "C.5.0.bpmn": (2, []),
    "C.6.0.bpmn": (9, ['_32c4138c-74ae-484a-a7e5-0609370d7080', '_6a5cdbbf-2618-496e-b728-955dc215ef9d', '_87baeef0-f32e-4a93-b802-fdd588aaf729', '_8af17ed4-6e13-463b-8333-d397b3002c65', '_99bf4db9-3616-4ed1-a0f8-b8175c3fd46f', '_9cc2ac34-f12c-49e0-b37c-144e5a84fd92', '_b25ecc7c-4eff-4a70-96f2-6b2f94cf19b1', '_e4b9fa74-efd8-409f-a2e4-ad917df767b4', '_fe3f9094-097b-416d-adeb-4b7e7e753f3c']),
    "C.7.0.bpmn": (1, ['_15b00027-5049-4081-8952-fd398e8b722a']),
    "C.8.0.bpmn": (4, ['_0a1c4f20-509f-4aeb-baf9-acc762f4fdf9', '_325973e7-0bc8-4136-b6df-be1e681d8608', '_f2b0da63-d841-4457-ad85-7d86c8b5c1d2']),
    "C.8.1.bpmn": (4, ['_0a1c4f20-509f-4aeb-baf9-acc762f4fdf9', '_2b960d84-feb1-46a9-a1a1-c300dd996b99', '_325973e7-0bc8-4136-b6df-be1e681d8608', '_f2b0da63-d841-4457-ad85-7d86c8b5c1d2']),
    "C.9.0.bpmn": (6, ['Activity_ManualCheck', 'SequenceFlow_ApplicationAccepted', 'SequenceFlow_ApplicationDeclined', 'SequenceFlow_Red', 'SequenceFlow_Yellow', 'ServiceTask_GetCreditScore']),
    "C.9.1.bpmn": (2, ['BoundaryEvent_1', 'BoundaryEvent_2']),
    "C.9.2.bpmn": (6, ['CallActivity_RequestDocument', 'SequenceFlow_Yes', 'StartTimerEvent_AcceleratedDecision', 'TimerEvent_Timeout']),
}


def test_corpus_is_present():
    assert MIWG.is_dir(), f"MIWG corpus missing: expected {MIWG} (shared/ next to the repo)"
    assert sorted(p.name for p in MIWG.glob("*.bpmn")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_miwg_file(name):
    path = MIWG / name
    assert path.is_file(), f"MIWG corpus file missing: {path}"
    files = {name: path.read_bytes()}
    problems = validate_bundle(files)  # must not raise
    if not problems:
        bundle = load_bundle(files)
        try:
            Instance.start(bundle)
            outcome = (0, "started")
        except EngineError as err:
            assert err.message
            outcome = (0, "engine error")
    else:
        assert all(p.message for p in problems)
        outcome = (len(problems), sorted({p.element_id for p in problems if p.element_id}))
    assert outcome == EXPECTED[name]
