-- A module whose chunk records the traceback it runs under (required by the tests).
return { traceback = debug.traceback("loading") }
