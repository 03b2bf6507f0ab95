#include <catch2/catch.hpp>

#include "lib/config.h"
#include "lib/models/factory.h"

namespace ctrnn {
namespace {

using Catch::Matchers::Contains;

TEST_CASE("configs name unknown keys, wrong types and out-of-range values", "[config]") {
  Config c =
      Config::ParseString("seed = 3\n[model]\nkind = \"nm_rnn\"\nN = 0\nNx = 4\n", "run.toml");
  CHECK_THROWS_WITH(MakeModel(&c.Sub("model"), 1),
                    Contains("run.toml: model.N = 0") && Contains("[1, 100000]"));
  Config d = Config::ParseString("[model]\nkind = \"nm_rnn\"\nNx = 4\nR = 2\n", "run.toml");
  MakeModel(&d.Sub("model"), 1);
  CHECK_THROWS_WITH(d.CheckAllUsed(), Contains("unknown key model.Nx"));
  Config e = Config::ParseString("[model]\nkind = \"nm_rnn\"\nN = \"many\"\n", "x.toml");
  CHECK_THROWS_WITH(MakeModel(&e.Sub("model"), 1), Contains("model.N: expected an integer"));
  Config f = Config::ParseString("[model]\nkind = \"transformer\"\n", "x.toml");
  CHECK_THROWS_WITH(MakeModel(&f.Sub("model"), 1),
                    Contains("model.kind = \"transformer\"") && Contains("nm_rnn"));
  Config g = Config::ParseString("[model]\nkind = \"ctrnn\"\nphi = \"swish\"\n", "x.toml");
  CHECK_THROWS_WITH(MakeModel(&g.Sub("model"), 1), Contains("model.phi = \"swish\""));
  CHECK_THROWS_WITH(Config::ParseString("[model\n", "broken.toml"), Contains("broken.toml"));
  CHECK_THROWS_WITH(Config::ParseFile("/nonexistent/run.toml"), Contains("/nonexistent/run.toml"));
}

TEST_CASE("the resolved config records defaults and reparses to the same model", "[config]") {
  Config c = Config::ParseString("[model]\nkind = \"nm_rnn\"\nN = 12\n", "t");
  auto m1 = MakeModel(&c.Sub("model"), 4);
  const std::string text = c.ToToml();
  CHECK_THAT(text, Contains("[model]") && Contains("N = 12") && Contains("tau_z = 100.0"));
  Config again = Config::ParseString(text, "resolved");
  auto m2 = MakeModel(&again.Sub("model"), 4);
  again.CheckAllUsed();
  CHECK(m1->theta() == m2->theta());
  CHECK(again.ToToml() == text);
}

}  // namespace
}  // namespace ctrnn
