// Reference vectors R1-R4, R7-R11 of shared/PRIVACY.md for the RDP and PLD
// accountants, plus validation errors.
#include <gtest/gtest.h>

#include <cmath>
#include <iomanip>
#include <limits>
#include <sstream>

#include "algorithms/privacy/accountant_pld.h"
#include "algorithms/privacy/accountant_rdp.h"

namespace shoal::privacy {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// |got - want| <= rtol |want| (what EXPECT_NEAR with that bound checks); call
// as EXPECT_TRUE(NearRel(...)) so a failure points at the caller.
::testing::AssertionResult NearRel(double got, double want, double rtol) {
  const double tol = rtol * std::abs(want), diff = std::abs(got - want);
  if (diff <= tol) return ::testing::AssertionSuccess();
  std::ostringstream m;
  m << std::setprecision(17) << "got " << got << ", want " << want << ": |diff| " << diff << " > tolerance " << tol
    << " (rtol " << rtol << ")";
  return ::testing::AssertionFailure() << m.str();
}

TEST(RdpAccountant, R1PoissonGaussianAbsMatchesDpAccounting) {
  const double orders[] = {1.5, 2.5, 5, 50, 100};
  const double want[] = {6.70579741e-4, 1.08548710e-3, 2.18075656e-3, 2.38460375e-2, 1.67416308e2};
  for (int i = 0; i < 5; ++i)
    EXPECT_TRUE(NearRel(50 * RdpPoissonGaussian(0.01, 2.5, orders[i], Summation::kAbs), want[i], 1e-4))
        << "order " << orders[i];
  EXPECT_EQ(RdpPoissonGaussian(0.01, 2.5, kInf, Summation::kAbs), kInf);
}

TEST(RdpAccountant, R1SignedDiffersOnlyAtFractionalOrders) {
  EXPECT_TRUE(NearRel(50 * RdpPoissonGaussian(0.01, 2.5, 1.5), 6.50070897e-4, 1e-4));
  EXPECT_TRUE(NearRel(50 * RdpPoissonGaussian(0.01, 2.5, 2.5), 1.08541806e-3, 1e-4));
  for (double a : {5.0, 50.0, 100.0})
    EXPECT_DOUBLE_EQ(RdpPoissonGaussian(0.01, 2.5, a), RdpPoissonGaussian(0.01, 2.5, a, Summation::kAbs));
}

TEST(RdpAccountant, SpecialCases) {
  EXPECT_EQ(RdpPoissonGaussian(0, 1, 2), 0);
  EXPECT_EQ(RdpPoissonGaussian(0.5, 0, 2), kInf);
  EXPECT_DOUBLE_EQ(RdpPoissonGaussian(1, 2, 3), 3 / 8.0);
  // Fractional orders converge to the neighbouring integer orders' values.
  EXPECT_NEAR(RdpPoissonGaussian(0.1, 1.0, 3.0 + 1e-7), RdpPoissonGaussian(0.1, 1.0, 3.0), 1e-6);
}

TEST(RdpAccountant, R2PureRdpConversion) {
  std::vector<double> orders, rdp;
  for (int a = 2; a <= 32; ++a) orders.push_back(a), rdp.push_back(1.1);
  EpsilonAtOrder e = EpsilonFromRdp(orders, rdp, 1e-5);
  EXPECT_NEAR(e.epsilon, 1.32783806176, 1e-9);
  EXPECT_EQ(e.order, 32);
  EXPECT_TRUE(e.at_boundary);
}

TEST(RdpAccountant, R3GaussianEpsilonAndInverse) {
  std::vector<double> orders;
  for (int i = 1000; i < 100000; ++i) orders.push_back(i / 1000.0);
  RdpAccountant acc(orders);
  acc.AddPoissonGaussian(1.0, 4.530877117);
  EXPECT_NEAR(acc.Epsilon(1e-6).epsilon, 1.0, 1e-7);
  EXPECT_NEAR(acc.Delta(1.0), 1e-6, 1e-12);
}

TEST(RdpAccountant, R4OpacusAccountant) {
  RdpAccountant acc(OpacusOrders());
  acc.AddPoissonGaussian(0.04, 1.5, static_cast<int64_t>(90 / 0.04));
  EpsilonAtOrder e = acc.Epsilon(1e-5);
  EXPECT_NEAR(e.epsilon, 7.32911117143, 1e-8 * 7.33);
  EXPECT_NEAR(e.order, 3.9, 1e-12);
  EXPECT_NEAR(acc.Epsilon(1e-5, Conversion::kClassic).epsilon, 8.07385, 1e-5);
}

TEST(RdpAccountant, R8R9TfPrivacy) {
  RdpAccountant a8(TfPrivacyOrders());
  a8.AddPoissonGaussian(150.0 / 60000, 1.3, 6000);
  EpsilonAtOrder e8 = a8.Epsilon(1e-5);
  EXPECT_NEAR(e8.epsilon, 0.7242234026109595, 1e-8);
  EXPECT_EQ(e8.order, 19);
  RdpAccountant a9(TfPrivacyOrders());
  a9.AddPoissonGaussian(100.0 / 1e5, 1.0, 30000);
  EpsilonAtOrder e9 = a9.Epsilon(1e-7);
  EXPECT_NEAR(e9.epsilon, 1.4154988495444842, 1e-8);
  EXPECT_EQ(e9.order, 13);
}

TEST(RdpAccountant, R10ExampleLevel) {
  RdpAccountant abs_acc(DefaultOrders(), Summation::kAbs);
  abs_acc.AddPoissonGaussian(0.01, 0.7, 120);
  EXPECT_TRUE(NearRel(abs_acc.Epsilon(1e-5).epsilon, 3.2392676, 1e-7));
  RdpAccountant signed_acc;
  signed_acc.AddPoissonGaussian(0.01, 0.7, 120);
  EXPECT_TRUE(NearRel(signed_acc.Epsilon(1e-5).epsilon, 3.23919219, 1e-7));
  RdpAccountant full;
  full.AddPoissonGaussian(1.0, 0.7, 2);
  EXPECT_TRUE(NearRel(full.Epsilon(1e-5).epsilon, 10.8602036, 1e-7));
}

TEST(RdpAccountant, R11TightAndClassic) {
  for (const auto& orders : {DefaultOrders(), OpacusOrders()}) {
    RdpAccountant acc(orders);
    acc.AddPoissonGaussian(0.01, 1.1, 10000);
    EpsilonAtOrder e = acc.Epsilon(1e-5);
    EXPECT_TRUE(NearRel(e.epsilon, 5.63199236868, 1e-8));
    EXPECT_NEAR(e.order, 4.7, 1e-12);
    EpsilonAtOrder c = acc.Epsilon(1e-5, Conversion::kClassic);
    EXPECT_TRUE(NearRel(c.epsilon, 6.27871027925, 1e-8));
    EXPECT_NEAR(c.order, 4.9, 1e-12);
  }
  RdpAccountant abs_acc(DefaultOrders(), Summation::kAbs);
  abs_acc.AddPoissonGaussian(0.01, 1.1, 10000);
  EXPECT_TRUE(NearRel(abs_acc.Epsilon(1e-5).epsilon, 5.63201067064, 1e-8));
}

Result<double> OpacusEpsilon(double q, int64_t steps, double z) {
  RdpAccountant acc(OpacusOrders());
  acc.AddPoissonGaussian(q, z, steps);
  return acc.Epsilon(1e-5).epsilon;
}

TEST(RdpAccountant, R7NoiseForTargetEpsilon) {
  auto epochs = NoiseForEpsilon(8, 0.01, [](double z) { return OpacusEpsilon(0.04, int64_t(90 / 0.04), z); });
  ASSERT_TRUE(epochs.ok());
  EXPECT_NEAR(*epochs, 1.416, 1e-3);
  auto steps = NoiseForEpsilon(8, 0.01, [](double z) { return OpacusEpsilon(0.04, 2000, z); });
  ASSERT_TRUE(steps.ok());
  EXPECT_NEAR(*steps, 1.3562, 1e-4);
  // The answer is on the private side of the target.
  EXPECT_LE(*OpacusEpsilon(0.04, 2000, *steps), 8.0);
}

TEST(RdpAccountant, InvalidSettingsAreClearErrors) {
  auto neg = EpsilonPoissonGaussian(0.01, -1, 10, 1e-5);
  ASSERT_FALSE(neg.ok());
  EXPECT_NE(neg.status().message().find("noise multiplier"), std::string::npos);
  for (double q : {0.0, -0.1, 1.5}) {
    auto r = EpsilonPoissonGaussian(q, 1, 10, 1e-5);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("sample rate"), std::string::npos);
  }
  for (double d : {0.0, 1.0, 2.0}) {
    auto r = EpsilonPoissonGaussian(0.1, 1, 10, d);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("delta"), std::string::npos);
  }
}

TEST(RdpAccountant, WithoutReplacementBoundDominatesPoissonAtLowOrders) {
  // Replace-one is a stronger adjacency than add/remove: with the same
  // multiplier, WBK19 should not certify less privacy loss at moderate orders.
  for (double a : {2.0, 3.0, 8.0})
    EXPECT_GE(RdpSampleWorGaussian(0.01, 1.0, a), RdpPoissonGaussian(0.01, 1.0, a));
  EXPECT_DOUBLE_EQ(RdpSampleWorGaussian(1, 2, 3), 3 / 8.0);
}

TEST(PldAccountant, R10MatchesWithinTolerance) {
  PldAccountant pld;
  ASSERT_TRUE(pld.AddPoissonGaussian(0.01, 0.7, 120).ok());
  auto eps = pld.Epsilon(1e-5);
  ASSERT_TRUE(eps.ok());
  EXPECT_NEAR(*eps, 2.4612381, 0.01);
  RdpAccountant rdp;
  rdp.AddPoissonGaussian(0.01, 0.7, 120);
  EXPECT_LE(*eps, rdp.Epsilon(1e-5).epsilon);
}

TEST(PldAccountant, R10FullBatchGaussian) {
  PldOptions o;
  o.interval = 1e-3;  // connect-the-dots is accurate to ~1e-4 here; 10x faster than 1e-4
  PldAccountant pld(o);
  ASSERT_TRUE(pld.AddPoissonGaussian(1.0, 0.7, 2).ok());
  auto eps = pld.Epsilon(1e-5);
  ASSERT_TRUE(eps.ok());
  EXPECT_NEAR(*eps, 10.1224946, 0.01);
}

TEST(PldAccountant, CoarserGridIsMorePessimisticAndNeverAboveRdp) {
  PldOptions fine_grid, coarse;
  fine_grid.interval = 1e-3;
  coarse.interval = 2e-2;
  PldAccountant fine_pld(fine_grid), coarse_pld(coarse);
  ASSERT_TRUE(fine_pld.AddPoissonGaussian(0.05, 1.0, 200).ok());
  ASSERT_TRUE(coarse_pld.AddPoissonGaussian(0.05, 1.0, 200).ok());
  const double fine = *fine_pld.Epsilon(1e-5), rough = *coarse_pld.Epsilon(1e-5);
  EXPECT_GE(rough, fine);
  RdpAccountant rdp;
  rdp.AddPoissonGaussian(0.05, 1.0, 200);
  EXPECT_LE(fine, rdp.Epsilon(1e-5).epsilon);
  EXPECT_GT(fine, 0.5 * rdp.Epsilon(1e-5).epsilon);  // same mechanism, not a different one
}

TEST(PldAccountant, InvalidSettings) {
  PldAccountant pld;
  EXPECT_FALSE(pld.AddPoissonGaussian(0.0, 1.0, 1).ok());
  EXPECT_FALSE(pld.AddPoissonGaussian(0.1, -1.0, 1).ok());
  EXPECT_FALSE(pld.Epsilon(1.0).ok());
}

}  // namespace
}  // namespace shoal::privacy
