"""Tịnh Biên's 2019 plan played through the running platform's APIs (``ansinh seed``).

:mod:`.seed` runs the stages in order; each stage has its module (:mod:`.review`,
:mod:`.insurance`, :mod:`.employment`, :mod:`.housing`), :mod:`.plan` holds the figures,
:mod:`.faults` the rule breaks planted on purpose, :mod:`.client` the HTTP client.
Above the launcher: it reads the launcher's state to find the platform.
"""
