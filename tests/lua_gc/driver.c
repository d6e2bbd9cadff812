/*
** A bare Lua for the collector tests (tests/lua_gc.rs): runs each script
** named on the command line in a fresh state of the vendored Lua, built with
** its internal assertions on (LUAI_ASSERT) and small MOONHOST_BIGTABLE /
** MOONHOST_CHUNK, so that nearly every table is traversed in chunks.
*/
#include <stdio.h>
#include <stdlib.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

int main (int argc, char **argv) {
  int i;
  for (i = 1; i < argc; i++) {
    lua_State *L = luaL_newstate();
    if (L == NULL) {
      fprintf(stderr, "%s: cannot create state\n", argv[i]);
      return 1;
    }
    luaL_openlibs(L);
    if (luaL_dofile(L, argv[i]) != LUA_OK) {
      fprintf(stderr, "%s: %s\n", argv[i], lua_tostring(L, -1));
      lua_close(L);
      return 1;
    }
    lua_close(L);
    printf("%s: ok\n", argv[i]);
  }
  return 0;
}
