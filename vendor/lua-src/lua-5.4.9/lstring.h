/*
** $Id: lstring.h $
** String table (keep all strings handled by Lua)
** See Copyright Notice in lua.h
*/

#ifndef lstring_h
#define lstring_h

#include "lgc.h"
#include "lobject.h"
#include "lstate.h"


/*
** Memory-allocation error message must be preallocated (it cannot
** be created after memory is exhausted)
*/
#define MEMERRMSG       "not enough memory"


/*
** Size of a TString: Size of the header plus space for the string
** itself (including final '\0').
*/
#define sizelstring(l)  (offsetof(TString, contents) + ((l) + 1) * sizeof(char))

#define luaS_newliteral(L, s)	(luaS_newlstr(L, "" s, \
                                 (sizeof(s)/sizeof(char))-1))


/*
** test whether a string is a reserved word
*/
#define isreserved(s)	((s)->tt == LUA_VSHRSTR && (s)->extra > 0)


/*
** equality for short strings, which are always internalized
*/
#define eqshrstr(a,b)	check_exp((a)->tt == LUA_VSHRSTR, (a) == (b))


/*
** moonhost: a resize to or from a string table of at least
** MOONHOST_STRTAB_INC buckets moves the strings to the new bucket array
** incrementally: MOONHOST_STRTAB_NEWSTEP units of work per string created
** and MOONHOST_STRTAB_GCSTEP per collector step (a bucket visited or a
** string moved is a unit); see 'lstring.c'.
*/
#if !defined(MOONHOST_STRTAB_INC)
#define MOONHOST_STRTAB_INC	(1 << 16)
#endif
#if !defined(MOONHOST_STRTAB_NEWSTEP)
#define MOONHOST_STRTAB_NEWSTEP	8
#endif
#if !defined(MOONHOST_STRTAB_GCSTEP)
#define MOONHOST_STRTAB_GCSTEP	1024
#endif

/* moonhost: 'work' units of a move in progress, if any */
#define luaS_movestep(L,work) \
	{ if (l_unlikely(G(L)->strt.ohash != NULL)) luaS_move(L, work); }


LUAI_FUNC unsigned int luaS_hash (const char *str, size_t l, unsigned int seed);
LUAI_FUNC unsigned int luaS_hashlongstr (TString *ts);
LUAI_FUNC int luaS_eqlngstr (TString *a, TString *b);
LUAI_FUNC void luaS_resize (lua_State *L, int newsize);
LUAI_FUNC void luaS_move (lua_State *L, int work);  /* moonhost */
LUAI_FUNC void luaS_clearcache (global_State *g);
LUAI_FUNC void luaS_init (lua_State *L);
LUAI_FUNC void luaS_remove (lua_State *L, TString *ts);
LUAI_FUNC Udata *luaS_newudata (lua_State *L, size_t s, int nuvalue);
LUAI_FUNC TString *luaS_newlstr (lua_State *L, const char *str, size_t l);
LUAI_FUNC TString *luaS_new (lua_State *L, const char *str);
LUAI_FUNC TString *luaS_createlngstrobj (lua_State *L, size_t l);


#endif
