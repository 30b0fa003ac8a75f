import ProtonCore
