/* The Criterion reference: 1000 trivial tests, each run by Criterion with its default isolation
 * (a sandboxed process per test). bench/run.sh times the whole binary. */
#include <criterion/criterion.h>

#define T1(x) \
	Test(trivial, t##x) {}
#define T10(x) T1(x##0) T1(x##1) T1(x##2) T1(x##3) T1(x##4) \
	T1(x##5) T1(x##6) T1(x##7) T1(x##8) T1(x##9)
#define T100(x) T10(x##0) T10(x##1) T10(x##2) T10(x##3) T10(x##4) \
	T10(x##5) T10(x##6) T10(x##7) T10(x##8) T10(x##9)
#define T1000(x) T100(x##0) T100(x##1) T100(x##2) T100(x##3) T100(x##4) \
	T100(x##5) T100(x##6) T100(x##7) T100(x##8) T100(x##9)

T1000(n)
