"""The command line of hallwatch: one module per command (``cli.command`` is the
protocol), shared option groups in ``cli.options``, the pipeline's wiring in
``cli.wiring``, the dispatch in ``cli.main``. Only argument parsing and wiring live here;
what a command does lives in the packages it calls.
"""
