"""The range of calendar days the kernel accepts from outside."""

from __future__ import annotations

from datetime import date

# Days outside this range are rejected: converting their local midnight to UTC
# can overflow ``datetime``, and no booking or report needs them.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2199, 12, 31)
