"""Paired rounds for the bench scripts (imported by their embedded Python, with PYTHONPATH=bench).

Each round runs both commands once, alternating which goes first, so that a machine whose speed drifts during a
benchmark does not turn the drift into a difference between the two tools, as blocks of runs of one tool and then of
the other would.
"""


def rounds(runs, timed, a, b):
    """Times a and b (each a command for `timed`) in `runs` alternating rounds; returns both lists of times."""
    ta, tb = [], []
    for i in range(runs):
        if i % 2 == 0:
            ta.append(timed(a)); tb.append(timed(b))
        else:
            tb.append(timed(b)); ta.append(timed(a))
    return ta, tb
