"""Result codes of AGI command handlers (``res_agi``'s ``RESULT_*``)."""

__all__ = ["RESULT_FAILURE", "RESULT_SHOWUSAGE", "RESULT_SUCCESS", "int_arg"]

RESULT_SUCCESS = 0
"""The reply was sent; ``AGIExecEnd`` reports 200 ``Success``."""
RESULT_SHOWUSAGE = 1
"""Wrong arguments: the ``520`` usage block is sent, ``AGIExecEnd`` reports ``Usage``."""
RESULT_FAILURE = 2
"""The channel hung up during the command: reply sent, ``AGIExecEnd`` reports -1 ``Failure``."""


def int_arg(text: str, default: int) -> int:
    """``atoi``-like parsing of a numeric argument, *default* when malformed."""
    try:
        return int(text)
    except ValueError:
        return default
