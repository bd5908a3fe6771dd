"""A generated district (households, members, survey inputs) from a seed (``ansinh generate``).

:mod:`.generator` writes the files; :mod:`.data` holds the units and commune profiles,
:mod:`.names` and :mod:`.people` the members, :mod:`.survey` the survey inputs.
Pure data generation: imports nothing else of deploy/.
"""
