"""Digests, one subject: preview, compile, the due rule, approval and the archive.

- :mod:`.preview`: render one digest for a sample reader into files (``digest preview``);
- :mod:`.compiling`: compile a period once and queue its deliveries (``digest compile``),
  and :func:`.compiling.compile_due`, the rule the scheduler asks;
- :mod:`.approval`: hold, resume, approve, cancel and test-send a compiled digest;
- :mod:`.archive`: a stored digest as the public archive and the console show it;
- :mod:`.copies`: a digest's copy in one language and the message its readers get;
- :mod:`.samples`: the sample reader of previews and tests.

The period is chosen by :func:`syndication.core.digests.choose_period` and lateness judged
by :func:`syndication.core.digests.past_max_delay`, in each case for every caller. Nothing
is imported here, so importing one part does not load the renderers of another.
"""
