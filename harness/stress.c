/* The stress mode's runs and their start offsets (stress.h). */
#include "stress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* splitmix64: one step of a small, well-mixed generator. */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t hash_text(uint64_t h, const char *s)
{
	for (; s && *s; s++)
		h = mix(h ^ (unsigned char)*s);
	return h;
}

unsigned wsph_stress_offset(uint64_t stress_seed, unsigned repetition, unsigned thread)
{
	if (!stress_seed)
		return 0;
	uint64_t x = mix(stress_seed ^ mix(((uint64_t)repetition << 16) | thread));
	return (unsigned)(x % (WSPH_STRESS_MAX_OFFSET + 1));
}

/* "NAME#stress-K", allocated. */
static char *run_name(const char *name, unsigned k)
{
	size_t n = strlen(name) + 24;
	char *out = malloc(n);
	if (out)
		snprintf(out, n, "%s#stress-%u", name, k);
	return out;
}

/* The runs of one concurrent scenario into out[0..runs-1]; 0, or -1 (nothing kept). */
static int expand_one(const struct wsph_scenario *sc, unsigned runs, uint64_t seed,
		      struct wsph_scenario *out)
{
	uint64_t base = hash_text(mix(seed), sc->classname);
	base = hash_text(base, sc->name);
	for (unsigned k = 0; k < runs; k++) {
		out[k] = *sc;
		out[k].borrowed = k > 0;
		out[k].stress_seed = mix(base + k) | 1u;
		out[k].name = run_name(sc->name, k + 1);
		if (!out[k].name) {
			while (k-- > 0)
				free(out[k].name);
			return -1;
		}
	}
	return 0;
}

int wsph_stress_expand(struct wsph_suite *suite, unsigned runs, uint64_t seed)
{
	size_t n = 0, o = 0;
	if (!runs)
		return 0;
	for (size_t i = 0; i < suite->n_scenarios; i++)
		n += suite->scenarios[i].concurrent && !suite->scenarios[i].borrowed ? runs : 1;
	struct wsph_scenario *v = calloc(n ? n : 1, sizeof *v);
	if (!v)
		return -1;
	for (size_t i = 0; i < suite->n_scenarios; i++) {
		const struct wsph_scenario *sc = &suite->scenarios[i];
		if (!sc->concurrent || sc->borrowed) {
			v[o++] = *sc;
			continue;
		}
		if (expand_one(sc, runs, seed, v + o)) {
			for (size_t k = 0; k < o; k++)
				if (v[k].concurrent && v[k].stress_seed)
					free(v[k].name); /* a run's name: the originals keep theirs */
			free(v);
			return -1;
		}
		o += runs;
	}
	/* the originals' names are replaced by their first runs' */
	for (size_t i = 0; i < suite->n_scenarios; i++)
		if (suite->scenarios[i].concurrent && !suite->scenarios[i].borrowed)
			free(suite->scenarios[i].name);
	free(suite->scenarios);
	suite->scenarios = v;
	suite->n_scenarios = n;
	return 0;
}

void wsph_stress_describe(const struct wsph_scenario *sc, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; sc->stress_seed && i < sc->n_steps && o < len; i++) {
		const struct wsph_parallel *par = sc->steps[i].par;
		for (size_t t = 0; par && t < par->n_threads && o < len; t++) {
			int w = snprintf(buf + o, len - o, "%s%s=%u", o == 0 ? "" : t ? " " : "; ",
					 par->threads[t].name,
					 wsph_stress_offset(sc->stress_seed, 0, (unsigned)t));
			if (w < 0)
				break;
			o += (size_t)w;
		}
	}
}
