"""Moves the wall clock of every Python process of a test run by `BR_TIME_SHIFT_DAYS` days.

CI runs the suite again with the date a year ahead and a year back, so a test that only passes
on the day it was written fails before it ships (issue 11). Python imports `sitecustomize` at
start-up from `PYTHONPATH`, and the engine's owners and helpers inherit both the path and the
variable, so the whole process tree sees the same moved date.

Why not libfaketime: Debian's 0.9.10 fakes `CLOCK_MONOTONIC` too, and Python 3.11 waits on
locks with `sem_clockwait(CLOCK_MONOTONIC, deadline)`, which it does not intercept: every
`Event.wait(0.1)` then waits ~400 real days (measured here); with the monotonic clock left
alone, `time.sleep` fails with EINVAL. time-machine moves `time.time()`, `datetime.now()` and
friends at the C level and leaves the monotonic clock to measure durations.
"""

import os

_shift = os.environ.get("BR_TIME_SHIFT_DAYS")
if _shift:
    import time

    import time_machine

    time_machine.travel(time.time() + float(_shift) * 86400, tick=True).start()
