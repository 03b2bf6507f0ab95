#!/usr/bin/env bash
# The layering of DESIGN.md §2: lib/ includes neither solvers/ nor experiments/; solvers/ does not
# include experiments/; heavy third-party headers stay out of public headers.
set -u
cd "$(dirname "$0")/.."
status=0
if grep -rnE '#include +"(solvers|experiments)/' lib; then
  echo "layering: lib/ includes a higher layer"; status=1
fi
if grep -rnE '#include +"experiments/' solvers; then
  echo "layering: solvers/ includes experiments/"; status=1
fi
if grep -rnE '#include +<(boost/numeric/odeint|ceres/|H5Cpp|toml)' --include='*.h' lib solvers experiments; then
  echo "layering: a public header includes odeint, Ceres, HDF5 or toml11"; status=1
fi
exit $status
