-- Imported by `counter` only: found through the module's own `require`.
return { loads = 0 }
