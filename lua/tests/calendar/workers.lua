-- Processes the calendar suite spawns.
local M = {}

-- Ends by returning an error object as its error value.
function M.returns_error()
  local _, err = time.load_location("")
  return nil, err
end

return M
