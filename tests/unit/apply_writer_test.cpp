// Tests of ProcAffinityWriter through an injected KernelFiles: every outcome
// from an injected errno on the write or the read-back, no write when the
// mask is already there or the file is 0444, read-back narrowing to online
// CPUs accepted and any other difference refused.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>

#include "apply_test_util.hpp"
#include "irqbpfd/apply/affinity_writer.hpp"

namespace irqbpfd::apply {
namespace {

using core::CpuSet;
using core::irq_number;
using test::FakeKernelFiles;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

const std::string kPath36 = FakeKernelFiles::affinity_path(36);

TEST(Outcome, NamesAreStable) {
  EXPECT_EQ(to_string(Outcome::kDone), "done");
  EXPECT_EQ(to_string(Outcome::kUnchanged), "unchanged");
  EXPECT_EQ(to_string(Outcome::kManaged), "managed");
  EXPECT_EQ(to_string(Outcome::kNoVectors), "no-vectors");
  EXPECT_EQ(to_string(Outcome::kInvalid), "invalid");
  EXPECT_EQ(to_string(Outcome::kVanished), "vanished");
  EXPECT_EQ(to_string(Outcome::kFailed), "failed");
  EXPECT_EQ(to_string(Outcome::kDryRun), "dry-run");
}

TEST(Outcome, ErrnoTable) {
  EXPECT_EQ(outcome_for_errno(0), Outcome::kDone);
  EXPECT_EQ(outcome_for_errno(EIO), Outcome::kManaged);    // up to Linux 6.11
  EXPECT_EQ(outcome_for_errno(EPERM), Outcome::kManaged);  // from 6.12
  EXPECT_EQ(outcome_for_errno(ENOSPC), Outcome::kNoVectors);
  EXPECT_EQ(outcome_for_errno(EINVAL), Outcome::kInvalid);
  EXPECT_EQ(outcome_for_errno(ENOENT), Outcome::kVanished);
  EXPECT_EQ(outcome_for_errno(EACCES), Outcome::kFailed);
  EXPECT_EQ(outcome_for_errno(EBUSY), Outcome::kFailed);
  EXPECT_EQ(outcome_for_errno(ENOMEM), Outcome::kFailed);
}

TEST(Outcome, SettledMeansNothingLeftToDo) {
  EXPECT_TRUE(is_settled(Outcome::kDone));
  EXPECT_TRUE(is_settled(Outcome::kUnchanged));
  EXPECT_TRUE(is_settled(Outcome::kManaged));
  EXPECT_TRUE(is_settled(Outcome::kDryRun));
  EXPECT_FALSE(is_settled(Outcome::kNoVectors));
  EXPECT_FALSE(is_settled(Outcome::kInvalid));
  EXPECT_FALSE(is_settled(Outcome::kVanished));
  EXPECT_FALSE(is_settled(Outcome::kFailed));
}

TEST(ProcAffinityWriter, WritesReadsBackAndReportsEffective) {
  FakeKernelFiles files;
  files.add_irq(36, "3", 0644, "1");
  ProcAffinityWriter writer(files, 2);
  const WriteResult r = writer.write(irq_number(36), CpuSet{1});
  EXPECT_EQ(r.outcome, Outcome::kDone) << r.message;
  EXPECT_EQ(r.errno_value, 0);
  EXPECT_EQ(r.irq, irq_number(36));
  EXPECT_EQ(r.requested, CpuSet{1});
  EXPECT_EQ(r.message, "irq 36: smp_affinity: 0-1 -> 1");
  EXPECT_EQ(r.previous, (CpuSet{0, 1}));
  EXPECT_EQ(r.smp_affinity, CpuSet{1});
  EXPECT_EQ(r.effective_affinity, CpuSet{0});  // the fake's static effective file
  EXPECT_THAT(files.writes, ElementsAre(Pair(kPath36, "2\n")));
}

TEST(ProcAffinityWriter, NoEffectiveAffinityFileIsNormal) {
  FakeKernelFiles files;
  files.add_irq(36, "3");
  ProcAffinityWriter writer(files, 2);
  const WriteResult r = writer.write(irq_number(36), CpuSet{0});
  EXPECT_EQ(r.outcome, Outcome::kDone) << r.message;
  EXPECT_FALSE(r.effective_affinity.has_value());
}

TEST(ProcAffinityWriter, UnchangedWritesNothing) {
  FakeKernelFiles files;
  files.add_irq(36, "2", 0644, "2");
  ProcAffinityWriter writer(files, 2);
  const WriteResult r = writer.write(irq_number(36), CpuSet{1});
  EXPECT_EQ(r.outcome, Outcome::kUnchanged);
  EXPECT_EQ(r.message, "irq 36: smp_affinity: already 1");
  EXPECT_EQ(r.smp_affinity, CpuSet{1});
  EXPECT_EQ(r.effective_affinity, CpuSet{1});
  EXPECT_TRUE(files.writes.empty());
}

// Up to 6.11 the kernel refused with EIO, from 6.12 with EPERM; both mean
// kernel-managed, reported as such, and not an error.
TEST(ProcAffinityWriter, EioAndEpermAreKernelManaged) {
  for (const auto& [e, name] : {std::pair{EIO, "EIO"}, std::pair{EPERM, "EPERM"}}) {
    FakeKernelFiles files;
    files.add_irq(36, "3", 0644, "1");
    files.refuse = [e = e](auto, auto) { return e; };
    ProcAffinityWriter writer(files, 2);
    const WriteResult r = writer.write(irq_number(36), CpuSet{1});
    EXPECT_EQ(r.outcome, Outcome::kManaged) << name;
    EXPECT_EQ(r.errno_value, e);
    EXPECT_EQ(r.message, fmt::format("irq 36: smp_affinity: kernel-managed ({})", name));
    EXPECT_EQ(r.smp_affinity, (CpuSet{0, 1})) << "a refused write leaves it as it was";
    EXPECT_EQ(r.effective_affinity, CpuSet{0});
    EXPECT_EQ(files.writes.size(), 1U) << "tried once, never retried";
    EXPECT_EQ(files.content(36), "3\n");
  }
}

TEST(ProcAffinityWriter, ReadOnlyFileIsManagedWithoutWriting) {
  FakeKernelFiles files;
  files.add_irq(36, "3", 0444);
  ProcAffinityWriter writer(files, 2);
  const WriteResult r = writer.write(irq_number(36), CpuSet{1});
  EXPECT_EQ(r.outcome, Outcome::kManaged);
  EXPECT_EQ(r.errno_value, 0);
  EXPECT_EQ(r.message, "irq 36: smp_affinity: kernel-managed (mode 0444), not written");
  EXPECT_TRUE(files.writes.empty());
}

TEST(ProcAffinityWriter, EnospcIsNoVectors) {
  FakeKernelFiles files;
  files.add_irq(36, "3");
  files.refuse = [](auto, auto) { return ENOSPC; };
  ProcAffinityWriter writer(files, 2);
  const WriteResult r = writer.write(irq_number(36), CpuSet{1});
  EXPECT_EQ(r.outcome, Outcome::kNoVectors);
  EXPECT_EQ(r.errno_value, ENOSPC);
  EXPECT_EQ(r.message, "irq 36: smp_affinity: no free vectors on CPU(s) 1 (ENOSPC)");
}

TEST(ProcAffinityWriter, EinvalIsInvalid) {
  FakeKernelFiles files;
  files.add_irq(36, "3");
  files.refuse = [](auto, auto) { return EINVAL; };  // e.g. CPU 1 went offline since the plan
  ProcAffinityWriter writer(files, 2);
  const WriteResult r = writer.write(irq_number(36), CpuSet{1});
  EXPECT_EQ(r.outcome, Outcome::kInvalid);
  EXPECT_EQ(r.errno_value, EINVAL);
  EXPECT_EQ(r.message, "irq 36: smp_affinity: kernel refused 1 (EINVAL)");
}

TEST(ProcAffinityWriter, EmptyMaskIsInvalidAndNotWritten) {
  FakeKernelFiles files;
  files.add_irq(36, "3");
  ProcAffinityWriter writer(files, 2);
  const WriteResult empty = writer.write(irq_number(36), CpuSet{});
  EXPECT_EQ(empty.outcome, Outcome::kInvalid);
  EXPECT_EQ(empty.message, "irq 36: smp_affinity: empty mask: invalid, not written");
  const WriteResult beyond = writer.write(irq_number(36), CpuSet{4, 5});
  EXPECT_EQ(beyond.outcome, Outcome::kInvalid);
  EXPECT_EQ(beyond.message, "irq 36: smp_affinity: 4-5 has no CPU below nr_cpu_ids 2: invalid, not written");
  EXPECT_TRUE(files.writes.empty());
}

TEST(ProcAffinityWriter, EnoentOnTheWriteIsVanished) {
  FakeKernelFiles files;
  files.add_irq(36, "3");
  files.refuse = [](auto, auto) { return ENOENT; };  // freed between the read and the write
  ProcAffinityWriter writer(files, 2);
  const WriteResult r = writer.write(irq_number(36), CpuSet{1});
  EXPECT_EQ(r.outcome, Outcome::kVanished);
  EXPECT_EQ(r.errno_value, ENOENT);
  EXPECT_EQ(r.message, "irq 36: smp_affinity: vanished (ENOENT)");
}

TEST(ProcAffinityWriter, MissingIrqIsVanishedWithoutWriting) {
  FakeKernelFiles files;
  ProcAffinityWriter writer(files, 2);
  const WriteResult r = writer.write(irq_number(77), CpuSet{1});
  EXPECT_EQ(r.outcome, Outcome::kVanished);
  EXPECT_EQ(r.message, "irq 77: smp_affinity: vanished (ENOENT)");
  EXPECT_TRUE(files.writes.empty());
  EXPECT_FALSE(r.smp_affinity.has_value());
}

TEST(ProcAffinityWriter, EaccesIsFailed) {
  FakeKernelFiles files;
  files.add_irq(36, "3");
  files.refuse = [](auto, auto) { return EACCES; };  // not root, or ProtectKernelTunables
  ProcAffinityWriter writer(files, 2);
  const WriteResult r = writer.write(irq_number(36), CpuSet{1});
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_EQ(r.errno_value, EACCES);
  EXPECT_EQ(r.message, "irq 36: smp_affinity: Permission denied (EACCES)");
}

// SysRoot::write reports a short write as an error without errno: failed,
// never read as a success because its errno is 0.
class ShortWrites final : public KernelFiles {
 public:
  explicit ShortWrites(FakeKernelFiles& real) : real_(real) {}
  [[nodiscard]] core::Result<std::string> read(std::string_view p) const override { return real_.read(p); }
  [[nodiscard]] core::Result<unsigned> mode(std::string_view p) const override { return real_.mode(p); }
  [[nodiscard]] core::Result<std::vector<std::string>> list(std::string_view p) const override { return real_.list(p); }
  core::Result<void> write(std::string_view p, std::string_view content) override {
    return core::Error{fmt::format("{}: short write (1 of {} bytes)", p, content.size())};
  }

 private:
  FakeKernelFiles& real_;
};

TEST(ProcAffinityWriter, ShortWriteIsFailed) {
  FakeKernelFiles files;
  files.add_irq(36, "3");
  ShortWrites short_writes(files);
  ProcAffinityWriter writer(short_writes, 2);
  const WriteResult r = writer.write(irq_number(36), CpuSet{1});
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_EQ(r.errno_value, 0);
  EXPECT_EQ(r.message, "irq 36: smp_affinity: short write (1 of 2 bytes)");
}

TEST(ProcAffinityWriter, ReadErrorsBeforeTheWrite) {
  FakeKernelFiles files;
  files.add_irq(36, "3");
  files.add_irq(37, "zz");
  files.read_errno[kPath36] = EACCES;
  ProcAffinityWriter writer(files, 2);
  const WriteResult denied = writer.write(irq_number(36), CpuSet{1});
  EXPECT_EQ(denied.outcome, Outcome::kFailed);
  EXPECT_EQ(denied.errno_value, EACCES);
  EXPECT_EQ(denied.message, "irq 36: smp_affinity: Permission denied (EACCES)");
  const WriteResult garbled = writer.write(irq_number(37), CpuSet{1});
  EXPECT_EQ(garbled.outcome, Outcome::kFailed);
  EXPECT_EQ(garbled.errno_value, 0);
  EXPECT_THAT(garbled.message, HasSubstr("irq 37: smp_affinity: bad CPU mask 'zz'"));
  EXPECT_TRUE(files.writes.empty());
}

TEST(ProcAffinityWriter, ReadBackErrors) {
  FakeKernelFiles files;
  files.add_irq(36, "3");
  files.add_irq(37, "3");
  files.read_back_errno[kPath36] = ENOENT;  // freed right after the write
  files.read_back_errno[FakeKernelFiles::affinity_path(37)] = EIO;
  ProcAffinityWriter writer(files, 2);
  const WriteResult gone = writer.write(irq_number(36), CpuSet{1});
  EXPECT_EQ(gone.outcome, Outcome::kVanished);
  EXPECT_EQ(gone.message, "irq 36: smp_affinity: vanished after the write (ENOENT)");
  const WriteResult eio = writer.write(irq_number(37), CpuSet{1});
  EXPECT_EQ(eio.outcome, Outcome::kFailed) << "EIO on a read is not a refusal";
  EXPECT_EQ(eio.errno_value, EIO);
  EXPECT_EQ(eio.message, "irq 37: smp_affinity: read back: Input/output error (EIO)");
  EXPECT_FALSE(eio.smp_affinity.has_value());
}

// Some kernels keep only the online part of a mask: CPUs 1 and 3 written with
// CPU 3 offline read back as CPU 1. That is the kernel's explanation, not a
// failure.
TEST(ProcAffinityWriter, ReadBackNarrowedToOnlineCpusIsDone) {
  FakeKernelFiles files;
  files.set_online("0-2");
  files.add_irq(36, "1");
  files.kernel_shows = [](auto, auto) { return std::optional<std::string>("2\n"); };
  ProcAffinityWriter writer(files, 4);
  const WriteResult r = writer.write(irq_number(36), CpuSet{1, 3});
  EXPECT_EQ(r.outcome, Outcome::kDone) << r.message;
  EXPECT_EQ(r.message, "irq 36: smp_affinity: 0 -> 1 (of 1,3; 3 offline)");
  EXPECT_EQ(r.smp_affinity, CpuSet{1});
  EXPECT_THAT(files.writes, ElementsAre(Pair(kPath36, "a\n")));
}

TEST(ProcAffinityWriter, ReadBackMismatchIsFailed) {
  FakeKernelFiles files;
  files.set_online("0-3");
  files.add_irq(36, "1");
  // Someone else (irqbalance) wrote in between: neither the mask nor its online part.
  files.kernel_shows = [](auto, auto) { return std::optional<std::string>("8\n"); };
  ProcAffinityWriter writer(files, 4);
  const WriteResult r = writer.write(irq_number(36), CpuSet{1, 2});
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_EQ(r.errno_value, 0);
  EXPECT_EQ(r.message, "irq 36: smp_affinity: read back 3 after writing 1-2");
  EXPECT_EQ(r.smp_affinity, CpuSet{3});
}

TEST(ProcAffinityWriter, ReadBackSubsetThatIsNotTheOnlinePartIsFailed) {
  FakeKernelFiles files;
  files.set_online("0-3");  // all online: narrowing to CPU 1 has no excuse
  files.add_irq(36, "1");
  files.kernel_shows = [](auto, auto) { return std::optional<std::string>("2\n"); };
  ProcAffinityWriter writer(files, 4);
  EXPECT_EQ(writer.write(irq_number(36), CpuSet{1, 3}).outcome, Outcome::kFailed);
}

TEST(ProcAffinityWriter, ReadBackMismatchWithOnlineUnknown) {
  FakeKernelFiles files;
  files.files.erase("/sys/devices/system/cpu/online");
  files.add_irq(36, "1");
  files.kernel_shows = [](auto, auto) { return std::optional<std::string>("2\n"); };
  ProcAffinityWriter writer(files, 4);
  const WriteResult r = writer.write(irq_number(36), CpuSet{1, 3});
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_THAT(r.message, HasSubstr("read back 1 after writing 1,3; online CPUs unknown: "
                                   "/sys/devices/system/cpu/online: No such file or directory"));
}

TEST(ProcAffinityWriter, UnreadableEffectiveAffinityIsNotedNotFatal) {
  FakeKernelFiles files;
  files.add_irq(36, "3", 0644, "1");
  files.read_errno["/proc/irq/36/effective_affinity"] = EIO;
  ProcAffinityWriter writer(files, 2);
  const WriteResult r = writer.write(irq_number(36), CpuSet{1});
  EXPECT_EQ(r.outcome, Outcome::kDone);
  EXPECT_EQ(r.message, "irq 36: smp_affinity: 0-1 -> 1; effective_affinity: Input/output error (EIO)");
  EXPECT_FALSE(r.effective_affinity.has_value());
}

// The mask goes out in the kernel's format for the machine's width, 32-bit
// words most significant first, the top word cut to what the width needs.
TEST(ProcAffinityWriter, WritesTheKernelsWordFormatForTheWidth) {
  FakeKernelFiles files;
  files.add_irq(36, "ff,ffffffff");
  files.add_irq(37, "ff,ffffffff,ffffffff");
  ProcAffinityWriter forty(files, 40);
  EXPECT_EQ(forty.write(irq_number(36), CpuSet{0, 39}).outcome, Outcome::kDone);
  ProcAffinityWriter seventy_two(files, 72);
  EXPECT_EQ(seventy_two.write(irq_number(37), CpuSet{0, 35, 71}).outcome, Outcome::kDone);
  EXPECT_THAT(files.writes, ElementsAre(Pair(kPath36, "80,00000001\n"),
                                        Pair(FakeKernelFiles::affinity_path(37), "80,00000008,00000001\n")));
}

}  // namespace
}  // namespace irqbpfd::apply
