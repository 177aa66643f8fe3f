/* Sizes: every accepted spelling gives the exact byte count, every bad one
 * is refused (overflow at SIZE_MAX included), and formatting picks the
 * largest exact suffix and reads back to the same value. */
#include "policy_test.h"

static void check_size(const char *text, size_t want)
{
	size_t got = 12345;
	CHECK(amlshim_parse_size(text, &got) == 0, "'%s' refused", text);
	CHECK(got == want, "'%s' gave %zu, expected %zu", text, got, want);
}

static void check_bad_size(const char *text)
{
	size_t got = 0;
	CHECK(amlshim_parse_size(text, &got) == -1, "'%s' accepted as %zu", text, got);
}

static void check_format(size_t size, const char *want)
{
	char buf[24];
	CHECK(amlshim_format_size(size, buf, sizeof(buf)) == buf, "returns its buffer");
	CHECK_STR(buf, want);
	size_t back = 0;
	CHECK(amlshim_parse_size(buf, &back) == 0 && back == size, "'%s' does not read back", buf);
}

int main(void)
{
	check_size("0", 0);
	check_size("1", 1);
	check_size("4096", 4096);
	check_size("007", 7);
	check_size("4096B", 4096);
	check_size("4096b", 4096);
	check_size("1K", 1024);
	check_size("1k", 1024);
	check_size("1KB", 1024);
	check_size("1kb", 1024);
	check_size("1KiB", 1024);
	check_size("1kib", 1024);
	check_size("1KIB", 1024);
	check_size("64K", 64 << 10);
	check_size("2M", 2 << 20);
	check_size("2m", 2 << 20);
	check_size("2MB", 2 << 20);
	check_size("2MiB", 2 << 20);
	check_size("3G", (size_t)3 << 30);
	check_size("3gib", (size_t)3 << 30);
	check_size("1T", (size_t)1 << 40);
	check_size("1tb", (size_t)1 << 40);
	check_size("1536K", 1536 << 10);
	check_size("16777215T", (((size_t)1 << 24) - 1) << 40);
	check_size("17179869183G", (((size_t)1 << 34) - 1) << 30);
	check_size("18446744073709551615", SIZE_MAX);
	check_size("000000000000000000000000018446744073709551615", SIZE_MAX);

	check_bad_size(NULL);
	check_bad_size("");
	check_bad_size("-1");
	check_bad_size("+1");
	check_bad_size("-0");
	check_bad_size(" 1M");
	check_bad_size("1M ");
	check_bad_size("1 M");
	check_bad_size("1M\n");
	check_bad_size("1.5M");
	check_bad_size("1,5M");
	check_bad_size("1M2");
	check_bad_size("1MM");
	check_bad_size("1KiBB");
	check_bad_size("1iB");
	check_bad_size("1Bi");
	check_bad_size("1KBi");
	check_bad_size("K");
	check_bad_size("B");
	check_bad_size("0x10");
	check_bad_size("1P");
	check_bad_size("16E"); /* exbibytes are not a suffix (and 16E overflows) */
	check_bad_size("1e6");
	check_bad_size("18446744073709551616");      /* SIZE_MAX + 1 */
	check_bad_size("99999999999999999999999999");
	check_bad_size("16777216T");                 /* exactly 2^64 */
	check_bad_size("17179869184G");
	check_bad_size("18014398509481984K");
	check_bad_size("18446744073709551615K");

	check_format(0, "0");
	check_format(1, "1");
	check_format(1023, "1023");
	check_format(1024, "1K");
	check_format(1536, "1536");
	check_format(3072, "3K");
	check_format(1 << 20, "1M");
	check_format((1 << 20) + 1024, "1025K");
	check_format((size_t)2 << 30, "2G");
	check_format((size_t)1 << 40, "1T");
	check_format((size_t)1024 << 40, "1024T");
	check_format(SIZE_MAX, "18446744073709551615");
	check_format(SIZE_MAX - 1023, "18014398509481983K");

	/* A buffer too small is cut with "..." and stays terminated. */
	char small[6];
	CHECK_STR(amlshim_format_size(1023 << 10, small, sizeof(small)), "1023K");
	char tiny[5];
	memset(tiny, 'x', sizeof(tiny));
	CHECK_STR(amlshim_format_size(12345678, tiny, sizeof(tiny)), "...");
	return 0;
}
