/*
** $Id: lstring.c $
** String table (keeps all strings handled by Lua)
** See Copyright Notice in lua.h
*/

#define lstring_c
#define LUA_CORE

#include "lprefix.h"


#include <string.h>

#include "lua.h"

#include "ldebug.h"
#include "ldo.h"
#include "lmem.h"
#include "lobject.h"
#include "lstate.h"
#include "lstring.h"


/*
** Maximum size for string table.
*/
#define MAXSTRTB	cast_int(luaM_limitN(MAX_INT, TString*))


/*
** equality for long strings
*/
int luaS_eqlngstr (TString *a, TString *b) {
  size_t len = a->u.lnglen;
  lua_assert(a->tt == LUA_VLNGSTR && b->tt == LUA_VLNGSTR);
  return (a == b) ||  /* same instance or... */
    ((len == b->u.lnglen) &&  /* equal length and ... */
     (memcmp(getlngstr(a), getlngstr(b), len) == 0));  /* equal contents */
}


unsigned int luaS_hash (const char *str, size_t l, unsigned int seed) {
  unsigned int h = seed ^ cast_uint(l);
  for (; l > 0; l--)
    h ^= ((h<<5) + (h>>2) + cast_byte(str[l - 1]));
  return h;
}


unsigned int luaS_hashlongstr (TString *ts) {
  lua_assert(ts->tt == LUA_VLNGSTR);
  if (ts->extra == 0) {  /* no hash? */
    size_t len = ts->u.lnglen;
    ts->hash = luaS_hash(getlngstr(ts), len, ts->hash);
    ts->extra = 1;  /* now it has its hash */
  }
  return ts->hash;
}


static void tablerehash (TString **vect, int osize, int nsize) {
  int i;
  for (i = osize; i < nsize; i++)  /* clear new elements */
    vect[i] = NULL;
  for (i = 0; i < osize; i++) {  /* rehash old part of the array */
    TString *p = vect[i];
    vect[i] = NULL;
    while (p) {  /* for each string in the list */
      TString *hnext = p->u.hnext;  /* save next */
      unsigned int h = lmod(p->hash, nsize);  /* new position */
      p->u.hnext = vect[h];  /* chain it into array */
      vect[h] = p;
      p = hnext;
    }
  }
}


/*
** moonhost: incremental resize. Rehashing every string in one go makes
** one allocation (or one collector step, for a shrink) as long as the
** whole table takes: hundreds of milliseconds over millions of strings,
** in whichever coroutine happens to make the string. So a resize to or
** from a table of at least MOONHOST_STRTAB_INC buckets allocates the new
** array, keeps the old one in 'ohash', and moves the old buckets in
** order, a few per string created and per collector step ('luaS_move').
** Invariant while a move is in progress: a string with hash 'h' is in
** bucket 'lmod(h, osize)' of 'ohash' if that bucket is not moved yet
** (index >= 'moved'), else in bucket 'lmod(h, size)' of 'hash'; so each
** string has exactly one place, which 'strlist' gives, and lookups,
** insertions and removals all use it. A new resize waits for the move to
** end (the table only gets fuller or emptier for a while; any size works,
** as for a failed reallocation below). Moving a bucket never allocates,
** and nothing moves between 'strlist' and the use of its result.
*/
static TString **strlist (stringtable *tb, unsigned int h) {
  if (l_unlikely(tb->ohash != NULL)) {  /* move in progress? */
    int i = lmod(h, tb->osize);
    if (i >= tb->moved)  /* bucket not moved yet? */
      return &tb->ohash[i];
  }
  return &tb->hash[lmod(h, tb->size)];
}


/*
** moonhost: move old buckets to the new array, about 'work' units (a
** bucket or a string moved is one; a bucket is always moved whole), and
** free the old array after its last bucket. The new array is cleared
** here too, not when allocated (zeroing megabytes of fresh pages took
** tens of milliseconds): a new bucket is cleared when the first old
** bucket that feeds it moves (the sizes are powers of 2, so new bucket
** 'j' is fed by the old buckets 'i' with 'i % min(osize, size)' equal to
** 'j % min(osize, size)'); 'strlist' and the moves reach a new bucket only
** after one of its feeders has moved.
*/
void luaS_move (lua_State *L, int work) {
  stringtable *tb = &G(L)->strt;
  lua_assert(tb->ohash != NULL);
  while (work > 0 && tb->moved < tb->osize) {
    int i = tb->moved;
    TString *p = tb->ohash[i];
    int j;
    for (j = i; j < tb->size; j += tb->osize)  /* 'i' first feeds these */
      tb->hash[j] = NULL;
    tb->ohash[i] = NULL;
    tb->moved = i + 1;
    work--;
    while (p) {  /* for each string in the bucket */
      TString *hnext = p->u.hnext;  /* save next */
      TString **list = &tb->hash[lmod(p->hash, tb->size)];
      p->u.hnext = *list;  /* chain it into the new array */
      *list = p;
      p = hnext;
      work--;
    }
  }
  if (tb->moved == tb->osize) {  /* all moved? */
    luaM_freearray(L, tb->ohash, tb->osize);
    tb->ohash = NULL;
    tb->osize = tb->moved = 0;
  }
}


/*
** moonhost: start an incremental resize to 'nsize' buckets. If the new
** array cannot be allocated, keep the table as it was (as stock does).
*/
static void startmove (lua_State *L, stringtable *tb, int nsize) {
  TString **newvect = luaM_reallocvector(L, NULL, 0, nsize, TString*);
  if (l_unlikely(newvect == NULL))  /* allocation failed? */
    return;  /* leave table as it was */
  /* not cleared: see 'luaS_move' */
  lua_assert(tb->ohash == NULL);  /* an emergency collection starts none */
  tb->ohash = tb->hash;
  tb->osize = tb->size;
  tb->moved = 0;
  tb->hash = newvect;
  tb->size = nsize;
}


/*
** Resize the string table. If allocation fails, keep the current size.
** (This can degrade performance, but any non-zero size should work
** correctly.)
*/
void luaS_resize (lua_State *L, int nsize) {
  stringtable *tb = &G(L)->strt;
  int osize = tb->size;
  TString **newvect;
  if (tb->ohash != NULL)  /* moonhost: a move in progress? */
    return;  /* keep the current size until it ends */
  if (nsize >= MOONHOST_STRTAB_INC || osize >= MOONHOST_STRTAB_INC) {
    l_mem olddebt = G(L)->GCdebt;
    startmove(L, tb, nsize);  /* moonhost: incremental */
    /* moonhost: a growth's new array makes no collector debt: paid at
       once, its megabytes made the next step do a whole cycle's share of
       work in one go (a sweep over millions of strings); a shrink's is
       corrected by 'checkSizes', which needs the change in debt */
    if (nsize > osize && G(L)->GCdebt > olddebt)
      luaE_setdebt(G(L), olddebt);
    return;
  }
  if (nsize < osize)  /* shrinking table? */
    tablerehash(tb->hash, osize, nsize);  /* depopulate shrinking part */
  newvect = luaM_reallocvector(L, tb->hash, osize, nsize, TString*);
  if (l_unlikely(newvect == NULL)) {  /* reallocation failed? */
    if (nsize < osize)  /* was it shrinking table? */
      tablerehash(tb->hash, nsize, osize);  /* restore to original size */
    /* leave table as it was */
  }
  else {  /* allocation succeeded */
    tb->hash = newvect;
    tb->size = nsize;
    if (nsize > osize)
      tablerehash(newvect, osize, nsize);  /* rehash for new size */
  }
}


/*
** Clear API string cache. (Entries cannot be empty, so fill them with
** a non-collectable string.)
*/
void luaS_clearcache (global_State *g) {
  int i, j;
  for (i = 0; i < STRCACHE_N; i++)
    for (j = 0; j < STRCACHE_M; j++) {
      if (iswhite(g->strcache[i][j]))  /* will entry be collected? */
        g->strcache[i][j] = g->memerrmsg;  /* replace it with something fixed */
    }
}


/*
** Initialize the string table and the string cache
*/
void luaS_init (lua_State *L) {
  global_State *g = G(L);
  int i, j;
  stringtable *tb = &G(L)->strt;
  tb->hash = luaM_newvector(L, MINSTRTABSIZE, TString*);
  tablerehash(tb->hash, 0, MINSTRTABSIZE);  /* clear array */
  tb->size = MINSTRTABSIZE;
  /* pre-create memory-error message */
  g->memerrmsg = luaS_newliteral(L, MEMERRMSG);
  luaC_fix(L, obj2gco(g->memerrmsg));  /* it should never be collected */
  for (i = 0; i < STRCACHE_N; i++)  /* fill cache with valid strings */
    for (j = 0; j < STRCACHE_M; j++)
      g->strcache[i][j] = g->memerrmsg;
}



/*
** creates a new string object
*/
static TString *createstrobj (lua_State *L, size_t l, int tag, unsigned int h) {
  TString *ts;
  GCObject *o;
  size_t totalsize;  /* total size of TString object */
  totalsize = sizelstring(l);
  o = luaC_newobj(L, tag, totalsize);
  ts = gco2ts(o);
  ts->hash = h;
  ts->extra = 0;
  getstr(ts)[l] = '\0';  /* ending 0 */
  return ts;
}


TString *luaS_createlngstrobj (lua_State *L, size_t l) {
  TString *ts = createstrobj(L, l, LUA_VLNGSTR, G(L)->seed);
  ts->u.lnglen = l;
  ts->shrlen = 0xFF;  /* signals that it is a long string */
  return ts;
}


void luaS_remove (lua_State *L, TString *ts) {
  stringtable *tb = &G(L)->strt;
  TString **p = strlist(tb, ts->hash);  /* moonhost: old or new array */
  while (*p != ts)  /* find previous element */
    p = &(*p)->u.hnext;
  *p = (*p)->u.hnext;  /* remove element from its list */
  tb->nuse--;
}


static void growstrtab (lua_State *L, stringtable *tb) {
  if (l_unlikely(tb->nuse == MAX_INT)) {  /* too many strings? */
    luaC_fullgc(L, 1);  /* try to free some... */
    if (tb->nuse == MAX_INT)  /* still too many? */
      luaM_error(L);  /* cannot even create a message... */
  }
  if (tb->size <= MAXSTRTB / 2)  /* can grow string table? */
    luaS_resize(L, tb->size * 2);
}


/*
** Checks whether short string exists and reuses it or creates a new one.
*/
static TString *internshrstr (lua_State *L, const char *str, size_t l) {
  TString *ts;
  global_State *g = G(L);
  stringtable *tb = &g->strt;
  unsigned int h = luaS_hash(str, l, g->seed);
  TString **list = strlist(tb, h);  /* moonhost: old or new array */
  lua_assert(str != NULL);  /* otherwise 'memcmp'/'memcpy' are undefined */
  for (ts = *list; ts != NULL; ts = ts->u.hnext) {
    if (l == ts->shrlen && (memcmp(str, getshrstr(ts), l * sizeof(char)) == 0)) {
      /* found! */
      if (isdead(g, ts))  /* dead (but not collected yet)? */
        changewhite(ts);  /* resurrect it */
      return ts;
    }
  }
  /* else must create a new string */
  if (l_unlikely(tb->ohash != NULL)) {  /* moonhost: move in progress? */
    luaS_move(L, MOONHOST_STRTAB_NEWSTEP);  /* a step of it */
    list = strlist(tb, h);  /* its bucket may have moved */
  }
  if (tb->nuse >= tb->size) {  /* need to grow string table? */
    growstrtab(L, tb);
    list = strlist(tb, h);  /* rehash with new size (moonhost: or not) */
  }
  ts = createstrobj(L, l, LUA_VSHRSTR, h);
  ts->shrlen = cast_byte(l);
  memcpy(getshrstr(ts), str, l * sizeof(char));
  ts->u.hnext = *list;
  *list = ts;
  tb->nuse++;
  return ts;
}


/*
** new string (with explicit length)
*/
TString *luaS_newlstr (lua_State *L, const char *str, size_t l) {
  if (l <= LUAI_MAXSHORTLEN)  /* short string? */
    return internshrstr(L, str, l);
  else {
    TString *ts;
    if (l_unlikely(l * sizeof(char) >= (MAX_SIZE - sizeof(TString))))
      luaM_toobig(L);
    ts = luaS_createlngstrobj(L, l);
    memcpy(getlngstr(ts), str, l * sizeof(char));
    return ts;
  }
}


/*
** Create or reuse a zero-terminated string, first checking in the
** cache (using the string address as a key). The cache can contain
** only zero-terminated strings, so it is safe to use 'strcmp' to
** check hits.
*/
TString *luaS_new (lua_State *L, const char *str) {
  unsigned int i = point2uint(str) % STRCACHE_N;  /* hash */
  int j;
  TString **p = G(L)->strcache[i];
  for (j = 0; j < STRCACHE_M; j++) {
    if (strcmp(str, getstr(p[j])) == 0)  /* hit? */
      return p[j];  /* that is it */
  }
  /* normal route */
  for (j = STRCACHE_M - 1; j > 0; j--)
    p[j] = p[j - 1];  /* move out last element */
  /* new element is first in the list */
  p[0] = luaS_newlstr(L, str, strlen(str));
  return p[0];
}


Udata *luaS_newudata (lua_State *L, size_t s, int nuvalue) {
  Udata *u;
  int i;
  GCObject *o;
  if (l_unlikely(s > MAX_SIZE - udatamemoffset(nuvalue)))
    luaM_toobig(L);
  o = luaC_newobj(L, LUA_VUSERDATA, sizeudata(nuvalue, s));
  u = gco2u(o);
  u->len = s;
  u->nuvalue = nuvalue;
  u->metatable = NULL;
  for (i = 0; i < nuvalue; i++)
    setnilvalue(&u->uv[i].uv);
  return u;
}

