// The differential ABI campaign (docs/differential-campaign.md). The normal test command
// runs a quick campaign: a fixed seed, then a random one printed in the log. Any size
// and seed: `N=100000 SEED=7 scripts/campaign`; one case: CALLSTUB_CAMPAIGN_CASE=b.i.

import CTestSupport
import Foundation
import Testing

@Suite("Differential ABI campaign")
struct DifferentialCampaign {
    static let fixedSeed: UInt64 = 0xCA11_57AB
    static let environment = ProcessInfo.processInfo.environment

    @Test("generated signatures through every path agree with the C compiler byte for byte")
    func campaign() throws {
        try #require(!CampaignConfiguration.all.isEmpty, "no C compiler installed")
        var runs: [Campaign] = []
        if let seedText = Self.environment["CALLSTUB_CAMPAIGN_SEED"], let seed = UInt64(seedText) {
            let count = Int(Self.environment["CALLSTUB_CAMPAIGN_N"] ?? "") ?? 2000
            var campaign = Campaign(seed: seed, count: count, only: Self.environment["CALLSTUB_CAMPAIGN_CASE"].flatMap(CampaignCase.init))
            campaign.profile = Self.environment["CALLSTUB_CAMPAIGN_PROFILE"].flatMap(CampaignProfile.init) ?? .full
            runs.append(campaign)
        } else {
            runs.append(Campaign(seed: Self.fixedSeed, count: 2000))
            runs.append(Campaign(seed: UInt64.random(in: 1...UInt64.max), count: 500))
            // Signatures libffi can describe, so that ≥ 2,000 also run through callstub_ffi_call.
            var describable = Campaign(seed: UInt64.random(in: 1...UInt64.max), count: 1250)
            describable.profile = .libffi
            runs.append(describable)
        }
        for campaign in runs {
            print("campaign seed \(campaign.seed), \(campaign.count) signatures, profile \(campaign.profile.rawValue), configurations: \(CampaignConfiguration.all.map(\.description).joined(separator: ", "))")
            let report = try campaign.run { print($0) }
            print(report.summary)
            for failure in report.failures.prefix(20) { print(failure) }
            #expect(report.failures.isEmpty, "\(report.failures.count) mismatches; first:\n\(report.failures.first ?? "")")
            if campaign.only == nil {
                #expect(report.signatures >= campaign.count * 9 / 10, "too many signatures refused")
            }
        }
    }
}
