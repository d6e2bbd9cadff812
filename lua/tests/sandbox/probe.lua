-- The types of the names the sandbox governs, as the calling process sees them.
return function()
  return {
    io = type(io),
    io_open = type(io and io.open),
    os_time = type(os.time),
    os_clock = type(os.clock),
    os_execute = type(os.execute),
    os_exit = type(os.exit),
    os_getenv = type(os.getenv),
    os_remove = type(os.remove),
    loadfile = type(loadfile),
    dofile = type(dofile),
    package = type(package),
    debug_getinfo = type(debug.getinfo),
  }
end
