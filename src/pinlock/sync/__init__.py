"""``pinlock sync``: make an environment contain exactly what one or more locks say.

``environment`` finds and inspects the target, ``locks`` selects the lock lines for it, ``plan``
diffs them (pure), ``fetch`` gets verified files, ``apply`` changes the environment all-or-nothing.
"""
