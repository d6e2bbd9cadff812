/*
** A bare Lua for the collector tests (tests/lua_gc.rs): runs each script
** named on the command line in a fresh state of the vendored Lua, built with
** its internal assertions on (LUAI_ASSERT) and small MOONHOST_BIGTABLE /
** MOONHOST_CHUNK, so that nearly every table is traversed in chunks, and
** tiny MOONHOST_STRTAB_* values, so that every string table resize moves
** the strings incrementally; with GC_TABLE_BOUND set, tables may not grow
** past that many hash entries; with GC_EMERGENCY=n, every n-th allocation
** fails at its first try wherever Lua may run an emergency collection, so
** emergency collections run inside any allocation, those of the string
** table (lstring.c) during a move included. Scripts may call strtab(),
** which returns the string table's count of strings, its size and whether
** a move is in progress, and gcpace() (below). Before closing a state it prints the state of its
** string table ("moving" while a move is in progress: the close then frees
** both bucket arrays).
*/
#include <stdio.h>
#include <stdlib.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"
#include "lstate.h"

/* moonhost's table bound (ltable.c): GC_TABLE_BOUND hash entries when set */
extern size_t (*moonhost_table_hook) (lua_State *L);
static size_t table_bound = 0;
static size_t bound (lua_State *L) {
  (void)L;
  return table_bound;
}

/*
** GC_EMERGENCY=n: the allocator (realloc/free, as luaL_newstate's) fails
** the first try of every n-th allocation where lmem.c's 'tryagain' runs an
** emergency collection ('cantryagain': a complete state, not inside a
** collector step), and lets the retry right after that collection through,
** as Lua's own EMERGENCYGCTESTS does for every allocation. 'ud' is the
** state.
*/
static unsigned long emergency_every = 0, emergency_count = 0;
static unsigned long emergency_made = 0;  /* emergency collections made */
static int emergency_retry = 0;
static void *emergency_alloc (void *ud, void *ptr, size_t osize,
                              size_t nsize) {
  lua_State *L = (lua_State *)ud;
  global_State *g = G(L);
  (void)osize;
  if (nsize == 0) {
    free(ptr);
    return NULL;
  }
  if (emergency_retry)
    emergency_retry = 0;
  else if (++emergency_count % emergency_every == 0 &&
           completestate(g) && !g->gcstopem) {
    emergency_retry = 1;
    emergency_made++;
    return NULL;
  }
  return realloc(ptr, nsize);
}

/* strtab(): the string table's count of strings, size, and whether a
   move is in progress */
static int strtab (lua_State *L) {
  lua_pushinteger(L, G(L)->strt.nuse);
  lua_pushinteger(L, G(L)->strt.size);
  lua_pushboolean(L, G(L)->strt.ohash != NULL);
  return 3;
}

/* gcpace(): the collector's threshold (the bytes in use at which the next
   step is due), the bytes in use, and the bytes of the old bucket array of
   a string table move in progress (else 0) */
static int gcpace (lua_State *L) {
  global_State *g = G(L);
  lua_pushinteger(L, (lua_Integer)g->totalbytes);
  lua_pushinteger(L, (lua_Integer)gettotalbytes(g));
  lua_pushinteger(L, g->strt.ohash != NULL
                     ? (lua_Integer)(g->strt.osize * sizeof(TString *)) : 0);
  return 3;
}

int main (int argc, char **argv) {
  int i;
  const char *b = getenv("GC_TABLE_BOUND");
  const char *e = getenv("GC_EMERGENCY");
  if (b != NULL) {
    table_bound = (size_t)strtoul(b, NULL, 10);
    moonhost_table_hook = bound;
  }
  if (e != NULL)
    emergency_every = strtoul(e, NULL, 10);
  for (i = 1; i < argc; i++) {
    lua_State *L = luaL_newstate();
    emergency_count = emergency_made = 0;
    emergency_retry = 0;
    if (L == NULL) {
      fprintf(stderr, "%s: cannot create state\n", argv[i]);
      return 1;
    }
    if (emergency_every > 0)  /* same blocks: realloc and free */
      lua_setallocf(L, emergency_alloc, L);
    luaL_openlibs(L);
    lua_register(L, "strtab", strtab);
    lua_register(L, "gcpace", gcpace);
    if (luaL_dofile(L, argv[i]) != LUA_OK) {
      fprintf(stderr, "%s: %s\n", argv[i], lua_tostring(L, -1));
      lua_close(L);
      return 1;
    }
    printf("%s: string table %d strings in %d buckets%s\n", argv[i],
           G(L)->strt.nuse, G(L)->strt.size,
           G(L)->strt.ohash != NULL ? ", moving" : "");
    if (emergency_every > 0)
      printf("%s: %lu emergency collections\n", argv[i], emergency_made);
    lua_close(L);
    printf("%s: ok\n", argv[i]);
  }
  return 0;
}
