-- Returns at once.
return { main = function() end }
