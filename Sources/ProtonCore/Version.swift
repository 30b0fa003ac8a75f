public enum ProtonCoreVersion { public static let current = 1 }
