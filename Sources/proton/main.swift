print("proton")
