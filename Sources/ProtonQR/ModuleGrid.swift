/// A rectangle of QR modules, row by row, `true` for dark.
public struct ModuleGrid: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public let dark: [Bool]

    public init(width: Int, height: Int, dark: [Bool]) {
        precondition(width >= 0 && height >= 0 && dark.count == width * height, "the grid's modules must fill it")
        self.width = width
        self.height = height
        self.dark = dark
    }

    /// Whether the module at `row`, `column` is dark; outside the grid everything is light.
    public subscript(row: Int, column: Int) -> Bool {
        guard row >= 0, row < height, column >= 0, column < width else { return false }
        return dark[row * width + column]
    }

    /// The grid inside a light border `margin` modules wide.
    public func padded(by margin: Int) -> ModuleGrid {
        let newWidth = width + 2 * margin
        let newHeight = height + 2 * margin
        var modules = [Bool](repeating: false, count: newWidth * newHeight)
        for row in 0..<height {
            for column in 0..<width where dark[row * width + column] {
                modules[(row + margin) * newWidth + column + margin] = true
            }
        }
        return ModuleGrid(width: newWidth, height: newHeight, dark: modules)
    }
}
