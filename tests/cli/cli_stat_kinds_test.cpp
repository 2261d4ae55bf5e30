#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_support.hpp"
#include "shmkit/array.hpp"
#include "shmkit/list.hpp"
#include "shmkit/pipe.hpp"
#include "shmkit/platform/thread_identity.hpp"
#include "shmkit/queue.hpp"
#include "shmkit/sync/barrier.hpp"
#include "shmkit/sync/condition.hpp"
#include "shmkit/sync/event.hpp"
#include "shmkit/sync/mutex.hpp"
#include "shmkit/sync/semaphore.hpp"
#include "shmkit/value.hpp"
#include "test_support.hpp"

// `shmkit stat` on every kind (the kind_state section, text and JSON, and what
// it does with inconsistent state), and how ls and rm treat a List's chunk
// objects.

namespace shmkit {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::kCli;

struct Pair {
  std::int32_t a;
  std::int16_t b;
};

class CliStatKinds : public ::testing::Test {
 protected:
  test::CommandResult shmkit(const std::vector<std::string>& args) {
    std::vector<std::string> argv{kCli, "--dir", dir_.path()};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::run_command(argv);
  }
  json shmkit_json(const std::vector<std::string>& args) {
    const test::CommandResult r = shmkit(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out);
  }
  // The kind_state of NAME; the text form must work too and show `label`.
  json kind_state(const std::string& name, const std::string& label) {
    const test::CommandResult text = shmkit({"stat", name});
    EXPECT_EQ(text.exit_code, 0) << text.err;
    EXPECT_NE(text.out.find(label), std::string::npos) << label << " in\n" << text.out;
    return shmkit_json({"stat", name, "--json"}).at("kind_state");
  }
  [[nodiscard]] SegmentOptions options() const {
    SegmentOptions o;
    o.directory = dir_.path();
    return o;
  }
  [[nodiscard]] std::string path_of(const std::string& name) const {
    return dir_.path() + "/" + Segment::file_name(name);
  }
  [[nodiscard]] std::vector<std::string> files() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_.path())) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  test::TempDir dir_;
};

TEST_F(CliStatKinds, MutexShowsItsOwnerAliveOrDead) {
  const Mutex created = Mutex::create("m", options());
  json s = kind_state("m", "locked:");
  EXPECT_EQ(s.at("locked"), false);
  EXPECT_EQ(s.at("owner"), nullptr);
  EXPECT_EQ(s.at("waiters"), 0);

  test::Pipe locked;
  const SegmentOptions opts = options();
  const pid_t holder = test::fork_child([&] {
    Mutex mutex = Mutex::open("m", opts);
    if (!holds(mutex.lock())) throw std::runtime_error("lock failed");
    locked.send();
    for (;;) ::pause();
  });
  ASSERT_TRUE(locked.receive());
  s = kind_state("m", "alive");
  EXPECT_EQ(s.at("locked"), true);
  EXPECT_EQ(s.at("owner").at("tid"), holder);
  EXPECT_EQ(s.at("owner").at("start_ticks"), ProcessIdentity::of(holder)->start_ticks);
  EXPECT_EQ(s.at("owner").at("alive"), true);
  ::kill(holder, SIGKILL);
  ASSERT_EQ(test::wait_exit_code(holder), 128 + SIGKILL);
  s = kind_state("m", "died holding it");
  EXPECT_EQ(s.at("locked"), true);
  EXPECT_EQ(s.at("owner").at("alive"), false);

  // Released unrepaired (as a Value's operation does after a holder died).
  Mutex survivor = Mutex::open("m", opts);
  ASSERT_EQ(survivor.lock(), LockResult::owner_died);
  survivor.state().unlock_unrepaired();
  s = kind_state("m", "released unrepaired");
  EXPECT_EQ(s.at("locked"), false);
  EXPECT_EQ(s.at("owner"), "unrepaired");
}

TEST_F(CliStatKinds, SemaphoreEventConditionBarrier) {
  Semaphore semaphore = Semaphore::create("sem", 3, options());
  ASSERT_TRUE(semaphore.try_acquire());
  json s = kind_state("sem", "count:");
  EXPECT_EQ(s.at("count"), 2);
  EXPECT_EQ(s.at("waiters"), 0);

  Event event = Event::create("ev", options());
  EXPECT_EQ(kind_state("ev", "clear").at("set"), false);
  event.set();
  s = kind_state("ev", "set");
  EXPECT_EQ(s.at("set"), true);
  EXPECT_EQ(s.at("sets"), 1);
  event.clear();
  EXPECT_EQ(kind_state("ev", "clear").at("set"), false);
  // What a set that dropped dead waiters leaves: the drop parity is no set.
  event.state().flag.fetch_xor(sync::kEventDropped);
  s = kind_state("ev", "clear");
  EXPECT_EQ(s.at("sets"), 1);
  EXPECT_EQ(s.at("waiters"), 0);

  Condition condition = Condition::create("cond", options());
  ASSERT_TRUE(holds(condition.lock()));
  s = kind_state("cond", "sequence:");
  EXPECT_EQ(s.at("mutex").at("locked"), true);
  EXPECT_EQ(s.at("mutex").at("owner").at("tid"), platform::current_tid());
  EXPECT_EQ(s.at("waiters"), 0);
  EXPECT_TRUE(s.at("sequence").is_number());
  condition.unlock();
  EXPECT_EQ(kind_state("cond", "mutex:").at("mutex").at("locked"), false);

  Barrier barrier = Barrier::create("bar", 3, options());
  s = kind_state("bar", "parties:");
  EXPECT_EQ(s.at("parties"), 3);
  EXPECT_EQ(s.at("arrived"), 0);
  EXPECT_EQ(s.at("generation"), 0);
  EXPECT_EQ(s.at("broken"), false);
  barrier.abort();
  EXPECT_EQ(kind_state("bar", "broken:").at("broken"), true);
}

TEST_F(CliStatKinds, ValuePrintsKnownTypesAndHexForOthers) {
  Value<std::int32_t>::create("i32", -42, options());
  json s = kind_state("i32", "-42");
  EXPECT_EQ(s.at("element_type"), "int32");
  EXPECT_EQ(s.at("value"), -42);
  EXPECT_EQ(s.at("bytes"), "d6ffffff");
  EXPECT_EQ(s.at("lock").at("locked"), false);

  Value<double>::create("f64", 2.5, options());
  s = kind_state("f64", "2.5");
  EXPECT_EQ(s.at("element_type"), "float64");
  EXPECT_EQ(s.at("value"), 2.5);

  Value<std::uint64_t>::create("u64", 18446744073709551615ULL, options());
  EXPECT_EQ(kind_state("u64", "18446744073709551615").at("value"), 18446744073709551615ULL);

  Value<bool>::create("flag", true, options());
  EXPECT_EQ(kind_state("flag", "true").at("value"), true);

  Value<Pair>::create("pair", Pair{1, 2}, options());
  s = kind_state("pair", "bytes:");
  EXPECT_EQ(s.at("value"), nullptr);
  EXPECT_EQ(s.at("bytes").get<std::string>().substr(0, 12), "010000000200");
}

TEST_F(CliStatKinds, ArrayLengthIsValidatedAgainstTheSize) {
  Array<std::uint64_t> array = Array<std::uint64_t>::create("arr", 100, options());
  array.store(1, 7);
  json s = kind_state("arr", "length:");
  EXPECT_EQ(s.at("element_type"), "uint64");
  EXPECT_EQ(s.at("length"), 100);
  ASSERT_EQ(s.at("first").size(), 16u);
  EXPECT_EQ(s.at("first")[1], 7);
  EXPECT_EQ(s.at("lock").at("locked"), false);
  EXPECT_FALSE(s.contains("problem"));

  // A buggy process writes a huge length: reported, never used to read.
  const int fd = ::open(path_of("arr").c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  const std::uint64_t huge = std::uint64_t{1} << 40;
  const auto at = static_cast<off_t>(detail::kDataAlignment + offsetof(detail::ArrayHead, length));
  ASSERT_EQ(::pwrite(fd, &huge, sizeof huge, at), static_cast<ssize_t>(sizeof huge));
  ::close(fd);
  s = kind_state("arr", "problem:");
  EXPECT_EQ(s.at("length"), huge);
  EXPECT_NE(s.at("problem").get<std::string>().find("exceeds"), std::string::npos) << s.dump();
  EXPECT_FALSE(s.contains("first"));
}

TEST_F(CliStatKinds, ListShowsLengthBytesClosedAndChunks) {
  auto list = List<std::int64_t>::create("nums", options());
  for (std::int64_t i = 0; i < 3000; ++i) list.append(i);
  json s = kind_state("nums", "length:");
  EXPECT_EQ(s.at("element_type"), "int64");
  EXPECT_EQ(s.at("length"), 3000);
  EXPECT_EQ(s.at("bytes_in_use"), list.bytes_in_use());
  EXPECT_EQ(s.at("closed"), false);
  EXPECT_GE(s.at("chunks").at("index"), 2);
  EXPECT_GE(s.at("chunks").at("data"), 2);
  EXPECT_EQ(s.at("append_lock").at("locked"), false);
  list.close();
  EXPECT_EQ(kind_state("nums", "closed:").at("closed"), true);

  auto strings = List<std::string>::create("words", options());
  strings.append("hello");
  s = kind_state("words", "string");
  EXPECT_EQ(s.at("element_type"), "string");
  EXPECT_EQ(s.at("length"), 1);

  // A chunk object describes itself as part of its list.
  s = kind_state("nums.d1", "list:");
  EXPECT_EQ(s.at("list"), "nums");
  EXPECT_EQ(s.at("list_exists"), true);
  EXPECT_EQ(s.at("log"), "data");
  EXPECT_EQ(s.at("chunk"), 1);
}

TEST_F(CliStatKinds, LsHidesListChunksUnlessAllAndCountsThemInTheListsSize) {
  auto list = List<std::int64_t>::create("nums", options());
  for (std::int64_t i = 0; i < 3000; ++i) list.append(i);
  const json hidden = shmkit_json({"ls", "--json"});
  ASSERT_EQ(hidden.size(), 1u) << hidden.dump(2);
  EXPECT_EQ(hidden[0].at("name"), "nums");
  const std::uint64_t own = hidden[0].at("size");
  const std::uint64_t chunks = hidden[0].at("chunks");
  const std::uint64_t chunks_size = hidden[0].at("chunks_size");
  EXPECT_GE(chunks, 2u);
  EXPECT_GT(chunks_size, 0u);

  const json all = shmkit_json({"ls", "--json", "--all"});
  std::uint64_t listed_chunks = 0;
  std::uint64_t listed_bytes = 0;
  for (const json& entry : all) {
    if (entry.at("kind") != "list-chunk") continue;
    EXPECT_EQ(entry.at("name").get<std::string>().rfind("nums.", 0), 0u) << entry.dump();
    ++listed_chunks;
    listed_bytes += entry.at("size").get<std::uint64_t>();
  }
  EXPECT_EQ(listed_chunks, chunks);
  EXPECT_EQ(listed_bytes, chunks_size);

  const test::CommandResult text = shmkit({"ls"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_EQ(test::split_lines(text.out).size(), 2u) << text.out;  // titles and the list
  EXPECT_NE(text.out.find(" " + std::to_string(own + chunks_size) + " "), std::string::npos)
      << text.out;
  const test::CommandResult text_all = shmkit({"ls", "--all"});
  EXPECT_NE(text_all.out.find("nums.d1"), std::string::npos) << text_all.out;
  EXPECT_NE(text_all.out.find("nums.i1"), std::string::npos) << text_all.out;
}

TEST_F(CliStatKinds, RmRemovesAListWithItsChunks) {
  {
    auto list = List<std::int64_t>::create("nums", options());
    for (std::int64_t i = 0; i < 3000; ++i) list.append(i);
  }
  ASSERT_GT(files().size(), 1u);
  const test::CommandResult r = shmkit({"rm", "nums"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(files(), std::vector<std::string>{});
}

TEST_F(CliStatKinds, RmRefusesAChunkOfAnExistingListAndRemovesAnOrphanOne) {
  auto list = List<std::int64_t>::create("nums", options());
  for (std::int64_t i = 0; i < 3000; ++i) list.append(i);
  const std::vector<std::string> before = files();
  const test::CommandResult refused = shmkit({"rm", "nums.i1"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("not removing object 'nums.i1': it is a chunk of list 'nums'"),
            std::string::npos)
      << refused.err;
  EXPECT_NE(refused.err.find("shmkit --dir " + dir_.path() + " rm nums"), std::string::npos)
      << refused.err;
  EXPECT_EQ(files(), before);
  EXPECT_EQ(list[2999], 2999);

  // Once its list is gone (here, its file unlinked by hand), a chunk is
  // an orphan, removed by name like any object.
  fs::remove(path_of("nums"));
  const test::CommandResult orphan = shmkit({"rm", "nums.i1"});
  EXPECT_EQ(orphan.exit_code, 0) << orphan.err;
  EXPECT_FALSE(fs::exists(path_of("nums.i1")));
}

// Orphan chunks (their list gone, none attached) would be an invisible leak:
// plain ls shows them, stat says they are stale, and rm --stale removes them.
TEST_F(CliStatKinds, OrphanChunksAreListedStaleAndRemovedByRmStale) {
  {
    auto list = List<std::int64_t>::create("nums", options());
    for (std::int64_t i = 0; i < 3000; ++i) list.append(i);
  }
  auto other = List<std::int64_t>::create("kept", options());
  for (std::int64_t i = 0; i < 3000; ++i) other.append(i);
  fs::remove(path_of("nums"));  // the list alone, as a crash between unlinks could leave it

  const json listed = shmkit_json({"ls", "--json"});
  std::vector<std::string> names;
  for (const json& entry : listed) {
    names.push_back(entry.at("name"));
    if (entry.at("kind") == "list-chunk") {
      EXPECT_EQ(entry.at("stale"), true) << entry.dump();
    }
  }
  EXPECT_NE(std::find(names.begin(), names.end(), "nums.d1"), names.end()) << listed.dump(2);
  EXPECT_NE(std::find(names.begin(), names.end(), "nums.i1"), names.end()) << listed.dump(2);
  EXPECT_EQ(std::find(names.begin(), names.end(), "kept.d1"), names.end()) << listed.dump(2);
  kind_state("nums.d1", "'shmkit rm --stale' removes it");

  const test::CommandResult removed = shmkit({"rm", "--stale"});
  EXPECT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_NE(removed.out.find("removed nums.d1\n"), std::string::npos) << removed.out;
  for (const std::string& file : files()) {
    EXPECT_EQ(file.rfind("shmkit.nums", 0), std::string::npos) << file;
  }
  EXPECT_EQ(other[2999], 2999);  // the live list's chunks are all still there
}

TEST_F(CliStatKinds, RmStaleLeavesTheChunksOfALiveList) {
  const SegmentOptions opts = options();
  // A writer fills the list (chunks too) and exits cleanly.
  const pid_t writer = test::fork_child([&] {
    auto list = List<std::int64_t>::create("nums", opts);
    for (std::int64_t i = 0; i < 3000; ++i) list.append(i);
  });
  ASSERT_EQ(test::wait_exit_code(writer), 0);
  // A reader maps every chunk, then is killed: every object has a dead entry.
  test::Pipe read_all;
  const pid_t reader = test::fork_child([&] {
    const auto list = List<std::int64_t>::open("nums", opts);
    if (list[2999] != 2999) throw std::runtime_error("bad item");
    read_all.send();
    for (;;) ::pause();
  });
  ASSERT_TRUE(read_all.receive());
  ::kill(reader, SIGKILL);
  ASSERT_EQ(test::wait_exit_code(reader), 128 + SIGKILL);
  // A live process has the list itself open (and has not mapped its chunks).
  const auto live = List<std::int64_t>::open("nums", options());
  // The chunks alone look stale (all their attached processes died); the list does not.
  for (const json& entry : shmkit_json({"ls", "--all", "--json"})) {
    const bool chunk = entry.at("kind") == "list-chunk";
    EXPECT_EQ(entry.at("stale"), chunk) << entry.dump();
  }
  const std::vector<std::string> before = files();
  const test::CommandResult r = shmkit({"rm", "--stale"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(files(), before);
  EXPECT_EQ(live[2999], 2999);  // its chunks are still there to map
}

TEST_F(CliStatKinds, QueueShowsDepthCapacityParticipantsAndClosed) {
  ByteQueue queue = ByteQueue::create("q", {.capacity = 8, .max_message = 32}, options());
  const std::string message = "hello";
  ASSERT_EQ(queue.try_push(std::as_bytes(std::span(message))), QueueStatus::ok);
  ASSERT_EQ(queue.try_push(std::as_bytes(std::span(message))), QueueStatus::ok);
  json s = kind_state("q", "depth:");
  EXPECT_EQ(s.at("depth"), 2);
  EXPECT_EQ(s.at("capacity"), 8);
  EXPECT_EQ(s.at("max_message"), 32);
  EXPECT_EQ(s.at("closed"), false);
  ASSERT_EQ(s.at("producers").size(), 1u) << s.dump();
  EXPECT_EQ(s.at("producers")[0].at("tid"), platform::current_tid());
  EXPECT_EQ(s.at("producers")[0].at("alive"), true);
  EXPECT_EQ(s.at("consumers").size(), 0u);
  EXPECT_EQ(s.at("producers_waiting"), 0);
  EXPECT_EQ(s.at("consumers_waiting"), 0);
  EXPECT_EQ(s.at("producers_holding").size(), 0u);
  std::string out;
  ASSERT_EQ(queue.try_pop(out), QueueStatus::ok);
  queue.close();
  s = kind_state("q", "closed:");
  EXPECT_EQ(s.at("depth"), 1);
  EXPECT_EQ(s.at("closed"), true);
  EXPECT_EQ(s.at("consumers").size(), 1u);
}

// A Reservation shows as held by this process, also once the thread that
// made it has ended (a claim lives as long as its process).
TEST_F(CliStatKinds, QueueShowsTheProcessesHoldingSlots) {
  ByteQueue queue = ByteQueue::create("q", {.capacity = 8, .max_message = 32}, options());
  json s = kind_state("q", "producers holding:");
  EXPECT_EQ(s.at("producers_holding").size(), 0u);
  ByteQueue::Reservation held;
  std::thread([&] { ASSERT_EQ(queue.try_reserve(held), QueueStatus::ok); }).join();
  s = kind_state("q", "producers holding:");
  ASSERT_EQ(s.at("producers_holding").size(), 1u) << s.dump();
  EXPECT_EQ(s.at("producers_holding")[0].at("pid"), shmkit::current_pid());
  EXPECT_EQ(s.at("producers_dead"), 1);
  EXPECT_EQ(s.at("consumers_holding").size(), 0u);
  held.commit(0);
  s = kind_state("q", "producers holding:");
  EXPECT_EQ(s.at("producers_holding").size(), 0u);
}

TEST_F(CliStatKinds, PipeShowsEndsAndQueuedMessages) {
  Pipe end0 = Pipe::create("p", {.capacity = 4, .max_message = 16}, options());
  const std::string message = "ping";
  ASSERT_EQ(end0.try_send(std::as_bytes(std::span(message))), QueueStatus::ok);
  ASSERT_EQ(end0.try_send(std::as_bytes(std::span(message))), QueueStatus::ok);
  json s = kind_state("p", "queued:");
  EXPECT_EQ(s.at("capacity"), 4);
  EXPECT_EQ(s.at("max_message"), 16);
  EXPECT_EQ(s.at("end0").at("holder").at("pid"), ::getpid());
  EXPECT_EQ(s.at("end0").at("holder").at("alive"), true);
  EXPECT_EQ(s.at("end0").at("closed"), false);
  EXPECT_EQ(s.at("end1").at("holder"), nullptr);
  EXPECT_EQ(s.at("queued").at("end0_to_end1"), 2);
  EXPECT_EQ(s.at("queued").at("end1_to_end0"), 0);

  Pipe end1 = Pipe::open("p", options());
  std::string got;
  ASSERT_EQ(end1.try_recv(got), QueueStatus::ok);
  ASSERT_EQ(end1.try_send(std::as_bytes(std::span(message))), QueueStatus::ok);
  end1.close();
  s = kind_state("p", "end 1:");
  EXPECT_EQ(s.at("end1").at("holder").at("pid"), ::getpid());
  EXPECT_EQ(s.at("end1").at("closed"), true);
  EXPECT_EQ(s.at("queued").at("end0_to_end1"), 1);
  EXPECT_EQ(s.at("queued").at("end1_to_end0"), 1);
}

TEST_F(CliStatKinds, TooSmallDataAreaIsAProblemNotACrash) {
  // A mutex-kind object whose data area is smaller than a MutexState cannot be
  // made by the library: write one by creating a segment of that kind directly.
  SegmentOptions opts = options();
  opts.kind = Kind::mutex;
  Segment::create("tiny", 8, opts);
  const test::CommandResult r = shmkit({"stat", "tiny", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json s = json::parse(r.out).at("kind_state");
  EXPECT_NE(s.at("problem").get<std::string>().find("too small"), std::string::npos) << s;
  EXPECT_FALSE(s.contains("locked"));
}

}  // namespace
}  // namespace shmkit
