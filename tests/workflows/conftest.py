"""Every engine test runs on a frozen clock (helpers.T0), reset afterwards."""
import pytest

from tests.workflows.helpers import T0
from workflows import clock


@pytest.fixture(autouse=True)
def frozen_clock():
    clock.set(T0)
    yield
    clock.reset()
