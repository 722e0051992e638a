// FakeRoot implementation: mkdtemp under $TMPDIR, removed recursively.
#include "fake_root.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace irqbpfd::testing {
namespace fs = std::filesystem;

namespace {
fs::path under(const fs::path& root, std::string_view kernel_path) {
  std::string rel(kernel_path);
  while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
  return root / rel;
}
}  // namespace

FakeRoot::FakeRoot() {
  std::string tmpl = (fs::temp_directory_path() / "irqbpfd-root-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::system_error(errno, std::generic_category(), "mkdtemp");
  root_ = tmpl;
}

FakeRoot::~FakeRoot() {
  std::error_code ec;
  // Restore write permission on anything a test made read-only, then remove.
  for (auto it = fs::recursive_directory_iterator(root_, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_symlink()) ::chmod(it->path().c_str(), 0755);
  }
  fs::remove_all(root_, ec);
}

void FakeRoot::write(std::string_view kernel_path, std::string_view content, unsigned mode) const {
  const fs::path p = under(root_, kernel_path);
  fs::create_directories(p.parent_path());
  if (fs::exists(p)) ::chmod(p.c_str(), 0644);
  {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("FakeRoot: cannot write " + p.string());
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
  }
  ::chmod(p.c_str(), static_cast<mode_t>(mode));
}

void FakeRoot::mkdir(std::string_view kernel_path) const { fs::create_directories(under(root_, kernel_path)); }

void FakeRoot::symlink(std::string_view target, std::string_view kernel_path) const {
  const fs::path p = under(root_, kernel_path);
  fs::create_directories(p.parent_path());
  fs::create_symlink(fs::path(std::string(target)), p);
}

void FakeRoot::remove(std::string_view kernel_path) const { fs::remove_all(under(root_, kernel_path)); }

void FakeRoot::copy_fixture(std::string_view name) const {
  const fs::path source = fixtures_dir() / "roots" / std::string(name);
  fs::copy(source, root_,
           fs::copy_options::recursive | fs::copy_options::copy_symlinks | fs::copy_options::overwrite_existing);
  // Git keeps no file modes: roots/NAME.modes lists them ("0444 /proc/irq/36/smp_affinity").
  std::ifstream modes(source.string() + ".modes");
  std::string line;
  while (std::getline(modes, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.find(' ');
    if (space == std::string::npos) throw std::runtime_error("FakeRoot: bad modes line '" + line + "'");
    const auto mode = static_cast<mode_t>(std::stoul(line.substr(0, space), nullptr, 8));
    const fs::path file = under(root_, line.substr(space + 1));
    if (::chmod(file.c_str(), mode) != 0) throw std::runtime_error("FakeRoot: cannot chmod " + file.string());
  }
}

fs::path FakeRoot::unpack_capture(const fs::path& tarball) const {
  // Some captures unpack to a directory named differently from the tarball
  // (20s390-2g6s4c.tar.bz2 holds 20s390-2g2g2s4co/): unpack into a fresh
  // directory and return the one directory the archive made.
  const fs::path into = root_ / ("capture-" + tarball.stem().stem().string());
  fs::create_directories(into);
  const std::string cmd = "tar -xjf '" + tarball.string() + "' -C '" + into.string() + "'";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("FakeRoot: cannot unpack " + tarball.string());
  std::vector<fs::path> made;
  for (const auto& entry : fs::directory_iterator(into)) {
    if (entry.is_directory()) made.push_back(entry.path());
  }
  if (made.size() != 1) throw std::runtime_error("FakeRoot: " + tarball.string() + " did not unpack to one directory");
  return made.front();
}

fs::path fixtures_dir() { return fs::path(IRQBPFD_FIXTURES_DIR); }

fs::path machines_dir() {
  if (const char* env = std::getenv("IRQBPFD_MACHINES_DIR"); env != nullptr && *env != '\0') {
    return fs::exists(env) ? fs::path(env) : fs::path();
  }
  const fs::path beside = fs::path(IRQBPFD_SOURCE_DIR) / ".." / "shared" / "machines" / "hwloc-linux";
  return fs::exists(beside) ? fs::weakly_canonical(beside) : fs::path();
}

}  // namespace irqbpfd::testing
