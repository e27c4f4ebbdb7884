"""The machinery of the longer tutorials (run configurations, tables, Markdown, panels), so
that each tutorial reads as its question, the few calls that answer it and the answer.

Not a tutorial: the gallery runs only ``NN_*.py`` and skips this folder (it has no gallery
header). Tutorials import it as ``from _lib import table2``, as they import ``common``: from
the folder they sit in.
"""
