// `callstub bench --chart FILE.svg`: the matrix as a grouped bar chart, one group per
// signature and one bar per path, on a logarithmic axis of nanoseconds per call, with a
// legend and each bar's value in its tooltip. Plain SVG 1.1, no script, no fonts to load.

import Foundation

struct BenchChart {
    let rows: [BenchRow]
    let columns: [String]
    let title: String

    /// One colour per column, none repeated for the matrix's ten columns and the five
    /// peers (with twelve, the Python package, LuaJIT and libffi's plans took the colours
    /// of direct, jit raw and jit typed).
    static let colours = [
        "#444444", "#1f77b4", "#6baed6", "#9ecae1", "#d62728", "#ff9896", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
        "#bcbd22", "#17becf", "#b8860b", "#000080", "#98df8a",
    ]

    func svg() -> String {
        let left = 70.0, right = 20.0, top = 56.0, bottom = 96.0
        let groupWidth = max(60.0, Double(columns.count) * 11.0 + 16)
        let width = left + right + groupWidth * Double(rows.count)
        let height = 440.0
        let plotHeight = height - top - bottom
        let values = rows.flatMap { row in columns.compactMap { row.median[$0] } }.filter { $0 > 0 }
        // From a 1-2-5 step at least a third below the smallest value (so that the
        // shortest bar shows) to the decade above the largest.
        let smallest = (values.min() ?? 1) / 1.5
        let decade = pow(10, floor(log10(smallest)))
        let low = [5.0, 2.0, 1.0].map { $0 * decade }.first { $0 <= smallest } ?? decade
        let high = pow(10, ceil(log10(values.max() ?? 10)))
        func y(_ value: Double) -> Double {
            let clamped = min(max(value, low), high)
            return top + plotHeight * (1 - (log10(clamped) - log10(low)) / (log10(high) - log10(low)))
        }
        var out: [String] = []
        out.append(#"<svg xmlns="http://www.w3.org/2000/svg" width="\#(Int(width))" height="\#(Int(height))" viewBox="0 0 \#(Int(width)) \#(Int(height))" font-family="sans-serif" font-size="12">"#)
        out.append(#"<rect width="100%" height="100%" fill="white"/>"#)
        out.append(#"<text x="\#(Int(left))" y="22" font-size="15" font-weight="bold">\#(escape(title))</text>"#)
        // Grid lines and labels at 1, 2, 5 per decade.
        var tick = decade
        while tick <= high * 1.0001 {
            for factor in [1.0, 2.0, 5.0] where tick * factor <= high * 1.0001 && tick * factor >= low * 0.9999 {
                let value = tick * factor
                let position = y(value)
                out.append(#"<line x1="\#(f(left))" x2="\#(f(width - right))" y1="\#(f(position))" y2="\#(f(position))" stroke="\#(factor == 1 ? "#bbbbbb" : "#e5e5e5")"/>"#)
                out.append(#"<text x="\#(f(left - 6))" y="\#(f(position + 4))" text-anchor="end">\#(label(value))</text>"#)
            }
            tick *= 10
        }
        out.append(#"<text transform="translate(16,\#(f(top + plotHeight / 2))) rotate(-90)" text-anchor="middle">ns per call (log scale)</text>"#)
        // Bars.
        for (group, row) in rows.enumerated() {
            let x0 = left + groupWidth * Double(group) + 8
            for (index, column) in columns.enumerated() {
                guard let value = row.median[column], value > 0 else { continue }
                let x = x0 + Double(index) * 11
                let barTop = y(value)
                let spread = row.spread[column].map { String(format: " ± %.2f", $0) } ?? ""
                out.append(#"<rect x="\#(f(x))" y="\#(f(barTop))" width="10" height="\#(f(top + plotHeight - barTop))" fill="\#(Self.colours[index % Self.colours.count])"><title>\#(escape(row.name)), \#(escape(column)): \#(String(format: "%.2f", value))\#(spread) ns</title></rect>"#)
            }
            let centre = x0 + Double(columns.count) * 11 / 2
            out.append(#"<text x="\#(f(centre))" y="\#(f(top + plotHeight + 16))" text-anchor="middle">\#(escape(row.name))</text>"#)
        }
        out.append(#"<line x1="\#(f(left))" x2="\#(f(width - right))" y1="\#(f(top + plotHeight))" y2="\#(f(top + plotHeight))" stroke="black"/>"#)
        // Legend, in rows under the axis.
        var legendX = left
        var legendY = top + plotHeight + 40
        for (index, column) in columns.enumerated() {
            let itemWidth = 26 + Double(column.count) * 7
            if legendX + itemWidth > width - right {
                legendX = left
                legendY += 18
            }
            out.append(#"<rect x="\#(f(legendX))" y="\#(f(legendY - 10))" width="12" height="12" fill="\#(Self.colours[index % Self.colours.count])"/>"#)
            out.append(#"<text x="\#(f(legendX + 16))" y="\#(f(legendY))">\#(escape(column))</text>"#)
            legendX += itemWidth
        }
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }

    private func f(_ value: Double) -> String { String(format: "%.1f", value) }

    private func label(_ value: Double) -> String {
        value >= 1 ? String(format: "%.0f", value) : String(format: "%g", value)
    }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
