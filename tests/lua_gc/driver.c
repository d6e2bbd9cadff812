/*
** A bare Lua for the collector tests (tests/lua_gc.rs): runs each script
** named on the command line in a fresh state of the vendored Lua, built with
** its internal assertions on (LUAI_ASSERT) and small MOONHOST_BIGTABLE /
** MOONHOST_CHUNK, so that nearly every table is traversed in chunks; with
** GC_TABLE_BOUND set, tables may not grow past that many hash entries.
*/
#include <stdio.h>
#include <stdlib.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

/* moonhost's table bound (ltable.c): GC_TABLE_BOUND hash entries when set */
extern size_t (*moonhost_table_hook) (lua_State *L);
static size_t table_bound = 0;
static size_t bound (lua_State *L) {
  (void)L;
  return table_bound;
}

int main (int argc, char **argv) {
  int i;
  const char *b = getenv("GC_TABLE_BOUND");
  if (b != NULL) {
    table_bound = (size_t)strtoul(b, NULL, 10);
    moonhost_table_hook = bound;
  }
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
