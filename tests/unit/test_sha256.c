/* SHA-256 against the FIPS 180-2/180-4 example vectors, block-boundary lengths and files. */
#define _POSIX_C_SOURCE 200809L
#include "sha256.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check(const char *msg, const char *want)
{
	char hex[65];
	wsph_sha256_hex(msg, strlen(msg), hex);
	cr_assert_str_eq(hex, want, "SHA-256(\"%s\")", msg);
}

Test(sha256, fips_180_vectors)
{
	check("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	check("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	check("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmn"
	      "opqrlmnopqrsmnopqrstnopqrstu",
	      "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

Test(sha256, one_million_a_fed_in_odd_pieces)
{
	struct wsph_sha256 s;
	unsigned char d[32], buf[997];
	size_t left = 1000000;
	char hex[65];

	memset(buf, 'a', sizeof buf);
	wsph_sha256_init(&s);
	while (left) {
		size_t n = left < sizeof buf ? left : sizeof buf;
		wsph_sha256_update(&s, buf, n);
		left -= n;
	}
	wsph_sha256_final(&s, d);
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", d[i]);
	cr_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

Test(sha256, padding_boundaries_55_56_64)
{
	/* 55 bytes fit the length in the same block, 56 need a second one, 64 fill a block. */
	char m[65];
	memset(m, 'a', sizeof m);
	m[55] = '\0';
	check(m, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
	memset(m, 'a', sizeof m);
	m[56] = '\0';
	check(m, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
	memset(m, 'a', sizeof m);
	m[64] = '\0';
	check(m, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

Test(sha256, file_and_missing_file)
{
	char path[] = "/tmp/wsph-sha-XXXXXX", hex[65];
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	FILE *f = fdopen(fd, "wb");
	fputs("abc", f);
	fclose(f);
	cr_assert_eq(wsph_sha256_file(path, hex), 0);
	cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	remove(path);
	cr_assert_eq(wsph_sha256_file(path, hex), -1);
	cr_assert_str_eq(hex, "");
}
