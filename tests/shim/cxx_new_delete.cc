// A C++ program under the shim: libstdc++'s operator new/delete call the
// interposed malloc family (the shim exports no operator new of its own).
// new/delete, new[]/delete[], aligned new (alignas(64) types and
// std::align_val_t(4096) and larger), sized delete, nothrow new of an
// impossible size, std::vector growth to large sizes, std::string,
// std::map with many nodes, and exceptions thrown and caught in several
// threads (the unwinder and __cxa_allocate_exception allocate). With
// AMLSHIM_POLICY=interleave AMLSHIM_THRESHOLD=1M, a large new[] must be
// counted by the interleave rule and be interleaved by the kernel.
#include <cstdint>
#include <cstring>
#include <map>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "shim_test.h"

namespace {

const std::size_t MiB = std::size_t(1) << 20;

struct alignas(64) Line {
	std::uint64_t words[8];
};

struct alignas(4096) Page {
	unsigned char bytes[4096];
};

bool aligned(const void *p, std::size_t alignment)
{
	return (reinterpret_cast<std::uintptr_t>(p) & (alignment - 1)) == 0;
}

void plain_new_delete()
{
	for (int round = 0; round < 1000; round++) {
		int *one = new int(round);
		CHECK(*one == round, "new int");
		std::size_t count = 1 + (std::size_t)round * 37 % 5000;
		long *many = new long[count];
		CHECK(aligned(many, 16), "new long[%zu] = %p is not 16-byte aligned", count, (void *)many);
		for (std::size_t i = 0; i < count; i++)
			many[i] = (long)i * round;
		for (std::size_t i = 0; i < count; i++)
			CHECK(many[i] == (long)i * round, "new[] content");
		shim_test_escape(many);
		delete[] many;
		delete one;
	}
	// Large: 8 MiB through new[] is the interleave rule's.
	struct shim_rule_stats before = shim_test_rule(MiB);
	std::size_t big = 8 * MiB;
	char *block = new char[big];
	shim_test_fill(block, big, 42);
	CHECK_POLICY(block, MPOL_INTERLEAVE);
	CHECK_POLICY(block + big - 1, MPOL_INTERLEAVE);
	struct shim_rule_stats after = shim_test_rule(MiB);
	CHECK(after.count - before.count == 1, "new char[8M]: the interleave rule counted %ld allocations",
	      after.count - before.count);
	CHECK(after.bytes - before.bytes == (long)big, "new char[8M]: the interleave rule counted %ld bytes",
	      after.bytes - before.bytes);
	CHECK_PATTERN(block, big, 42);
	delete[] block;
	struct shim_rule_stats freed = shim_test_rule(MiB);
	CHECK(freed.live_bytes == before.live_bytes, "delete[] left %ld live bytes", freed.live_bytes - before.live_bytes);
}

void aligned_new()
{
	for (int round = 0; round < 200; round++) {
		Line *line = new Line();
		CHECK(aligned(line, 64), "new Line = %p is not 64-byte aligned", (void *)line);
		CHECK(line->words[0] == 0 && line->words[7] == 0, "value-initialised Line is not zero");
		line->words[7] = 7;
		delete line;
		std::size_t count = 1 + (std::size_t)round * 13 % 300;
		Line *lines = new Line[count];
		CHECK(aligned(lines, 64), "new Line[%zu] misaligned", count);
		std::memset(lines, 0xab, count * sizeof(Line));
		delete[] lines;
		Page *page = new Page;
		CHECK(aligned(page, 4096), "new Page = %p is not 4096-byte aligned", (void *)page);
		page->bytes[4095] = 1;
		delete page;
	}
	// Explicit alignments, up to 2 MiB, small and large sizes.
	for (std::size_t alignment = 16; alignment <= 2 * MiB; alignment <<= 1) {
		for (std::size_t size : {std::size_t(1), std::size_t(5000), 3 * MiB}) {
			void *p = ::operator new(size, std::align_val_t(alignment));
			CHECK(aligned(p, alignment), "operator new(%zu, align %zu) = %p", size, alignment, p);
			shim_test_fill(p, size, alignment);
			CHECK_PATTERN(p, size, alignment);
			if (size == 5000)
				::operator delete(p, size, std::align_val_t(alignment)); // sized
			else
				::operator delete(p, std::align_val_t(alignment));
		}
	}
	// Sized delete of ordinary objects.
	for (std::size_t size : {std::size_t(8), std::size_t(100), 2 * MiB}) {
		void *p = ::operator new(size);
		std::memset(p, 1, size);
		::operator delete(p, size);
	}
}

void impossible_sizes()
{
	void *p = ::operator new(SIZE_MAX / 2, std::nothrow);
	CHECK(p == nullptr, "nothrow new of SIZE_MAX/2 returned %p", p);
	bool thrown = false;
	try {
		std::size_t huge = SIZE_MAX / 4;
		shim_test_escape(&huge);
		void *q = ::operator new(huge);
		shim_test_escape(q);
		::operator delete(q);
	} catch (const std::bad_alloc &) {
		thrown = true;
	}
	CHECK(thrown, "operator new(SIZE_MAX/4) did not throw std::bad_alloc");
}

void containers()
{
	std::vector<std::uint64_t> v;
	for (std::uint64_t i = 0; i < (64 * MiB) / sizeof(std::uint64_t); i++)
		v.push_back(i * 3);
	for (std::size_t i = 0; i < v.size(); i += 4093)
		CHECK(v[i] == i * 3, "vector element %zu", i);
	v.resize(10);
	v.shrink_to_fit();
	CHECK(v.size() == 10 && v[9] == 27, "vector after shrink");
	std::vector<std::vector<int>> nested(1000);
	for (std::size_t i = 0; i < nested.size(); i++)
		nested[i].assign(i * 7, (int)i);
	for (std::size_t i = 0; i < nested.size(); i++)
		CHECK(nested[i].size() == i * 7 && (i == 0 || nested[i].back() == (int)i), "nested vector %zu", i);

	std::string s;
	for (int i = 0; i < 200000; i++)
		s += static_cast<char>('a' + i % 26);
	CHECK(s.size() == 200000 && s[199999] == static_cast<char>('a' + 199999 % 26), "string growth");
	std::string copy = s + s + s;
	CHECK(copy.size() == 600000 && copy.compare(200000, 200000, s) == 0, "string concatenation");
	std::string big(3 * MiB, 'x');
	big.append(2 * MiB, 'y');
	CHECK(big.size() == 5 * MiB && big[3 * MiB - 1] == 'x' && big[3 * MiB] == 'y', "large string");

	std::map<int, std::string> tree;
	for (int i = 0; i < 100000; i++)
		tree[(i * 7919) % 100003] = std::to_string(i);
	CHECK(tree.size() == 100000, "map size %zu", tree.size());
	for (int i = 0; i < 100000; i += 997)
		CHECK(tree[(i * 7919) % 100003] == std::to_string(i), "map value for %d", i);
	for (int i = 0; i < 100000; i += 2)
		tree.erase((i * 7919) % 100003);
	CHECK(tree.size() == 50000, "map after erase %zu", tree.size());
}

struct Error : std::runtime_error {
	std::vector<char> payload;
	explicit Error(int n) : std::runtime_error("error " + std::to_string(n)), payload((std::size_t)n * 1000, 'e') {}
};

void recurse_and_throw(int depth, int n)
{
	std::string local(100 + (std::size_t)depth, 'd');
	if (depth == 0)
		throw Error(n);
	recurse_and_throw(depth - 1, n);
	shim_test_escape(local.data());
}

int throw_and_catch(int rounds)
{
	int caught = 0;
	for (int i = 0; i < rounds; i++) {
		try {
			recurse_and_throw(i % 20, i % 50);
		} catch (const Error &e) {
			if (e.payload.size() == (std::size_t)(i % 50) * 1000 && std::string(e.what()) == "error " + std::to_string(i % 50))
				caught++;
		}
	}
	return caught;
}

void exceptions()
{
	CHECK(throw_and_catch(500) == 500, "exceptions in the main thread");
	std::vector<std::thread> threads;
	std::vector<int> results(4, 0);
	for (int t = 0; t < 4; t++)
		threads.emplace_back([t, &results] { results[(std::size_t)t] = throw_and_catch(300); });
	for (auto &thread : threads)
		thread.join();
	for (int t = 0; t < 4; t++)
		CHECK(results[(std::size_t)t] == 300, "thread %d caught %d of 300 exceptions", t, results[(std::size_t)t]);
}

} // namespace

int main(int argc, char **argv)
{
	(void)argc;
	static const char *const env[] = {"AMLSHIM_POLICY=interleave", "AMLSHIM_THRESHOLD=1M", nullptr};
	shim_test_start(argv, env);
	plain_new_delete();
	aligned_new();
	impossible_sizes();
	containers();
	exceptions();
	std::printf("cxx_new_delete: ok\n");
	return 0;
}
