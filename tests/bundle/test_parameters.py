"""Parameter values for --start and the schedule, checked against the definition's types."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bundle.watch import ParameterError, as_parameter_value, check_parameters

DEFINITION = {
    "Parameters": [
        {"Name": "Epochs", "Type": "Integer", "DefaultValue": 10},
        {"Name": "Threshold", "Type": "Float", "DefaultValue": 0.7},
        {"Name": "Skip", "Type": "Boolean", "DefaultValue": True},
        {"Name": "InputDataUri", "Type": "String", "DefaultValue": "s3://b/data/"},
    ]
}


def accepted(name: str, value: str) -> bool:
    try:
        check_parameters(DEFINITION, {name: value}, "-p")
    except ParameterError:
        return False
    return True


@given(st.integers())
def test_every_integer_literal_is_an_integer_and_a_float(number: int) -> None:
    assert accepted("Epochs", str(number))
    assert accepted("Threshold", str(number))


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_every_finite_float_repr_is_a_float(number: float) -> None:
    assert accepted("Threshold", repr(number))
    assert not accepted("Epochs", repr(number))  # a float's repr always has '.' or 'e'


@given(st.text())
def test_booleans_are_exactly_true_or_false(text: str) -> None:
    assert accepted("Skip", text) == (text in ("true", "false"))


@given(st.text())
def test_a_string_parameter_takes_any_text(text: str) -> None:
    assert accepted("InputDataUri", text)


NOT_NUMBERS = {
    "underscore": "1_000",
    "space-before": " 5",
    "space-after": "5 ",
    "nan": "nan",
    "inf": "inf",
    "infinity": "-infinity",
    "hex": "0x10",
    "bare-exponent": "1e",
    "empty": "",
    "dot": ".",
}


@pytest.mark.parametrize("value", list(NOT_NUMBERS.values()), ids=list(NOT_NUMBERS))
def test_python_literals_sagemaker_refuses(value: str) -> None:
    """int() or float() take most of these; SageMaker does not."""
    assert not accepted("Threshold", value)
    assert not accepted("Epochs", value)


def test_all_problems_are_reported_at_once() -> None:
    with pytest.raises(ParameterError) as raised:
        check_parameters(DEFINITION, {"Epoch": "3", "Skip": "True"}, "-p")
    message = str(raised.value)
    assert message.startswith("2 problems in the parameter values\n\n-p Epoch=3\n")
    assert "(did you mean 'Epochs'?)" in message
    assert "-p Skip=True\n  'True' is not a Boolean\n" in message


@pytest.mark.parametrize(
    ("value", "text"),
    [(True, "true"), (False, "false"), (3, "3"), (0.25, "0.25"), ("s3://b/", "s3://b/")],
    ids=["true", "false", "int", "float", "str"],
)
def test_config_values_as_parameter_strings(value: object, text: str) -> None:
    assert as_parameter_value(value) == text
